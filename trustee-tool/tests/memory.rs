//! The issue-4 scenarios against the in-memory board, plus the cases only
//! an in-memory board can stage (an invalid ballot on the log).

mod common;

use common::{Admin, Party};
use psephos_crypto::record::Manifest;
use psephos_crypto::wire::{Created, Receipt};
use psephos_trustee::board::BoardClient;
use psephos_trustee::memory_board::MemoryBoard;
use psephos_trustee::{Result, TrusteeError};

impl Admin for MemoryBoard {
    fn create(&self, id: &str, manifest: &Manifest) -> Result<Created> {
        self.create_election(id, manifest)
    }
    fn close_commits(&self, id: &str) -> Result<Receipt> {
        MemoryBoard::close_commits(self, id)
    }
    fn finalize(&self, id: &str) -> Result<Receipt> {
        self.finalize_keys(id)
    }
    fn open(&self, id: &str) -> Result<Receipt> {
        MemoryBoard::open(self, id)
    }
    fn close(&self, id: &str) -> Result<Receipt> {
        MemoryBoard::close(self, id)
    }
}

#[test]
fn full_ceremony_n5_t3_then_decryption_by_two_different_threshold_sets() {
    let board = MemoryBoard::new();
    common::full_ceremony_and_decryption(&board, &board);
}

#[test]
fn cheating_dealer_is_caught_by_complaint_and_disqualified() {
    let board = MemoryBoard::new();
    common::cheating_dealer_is_disqualified(&board, &board);
}

#[test]
fn trustee_absent_from_round1_is_left_out_and_can_still_decrypt() {
    let board = MemoryBoard::new();
    common::absent_trustee_is_left_out(&board, &board);
}

#[test]
fn trustee_that_never_commits_is_cut_off_and_can_still_decrypt() {
    let board = MemoryBoard::new();
    common::trustee_that_never_commits_is_cut_off(&board, &board);
}

#[test]
fn voting_cannot_open_before_t_acknowledgements() {
    let board = MemoryBoard::new();
    common::voting_cannot_open_before_t_acknowledgements(&board, &board);
}

#[test]
fn key_file_of_another_trustee_is_refused() {
    let board = MemoryBoard::new();
    let mut party = Party::seeded(3, 1);
    let mut outsider = Party::seeded(1, 2);
    board
        .create(&common::unique_id("x"), &party.manifest(2))
        .unwrap();
    let id = common::unique_id("y");
    board.create(&id, &party.manifest(2)).unwrap();
    let err = psephos_trustee::steps::register(&board, outsider.trustee(1), &id).unwrap_err();
    assert!(
        err.to_string().contains("is not a trustee of election"),
        "{err}"
    );
    let _ = party.trustee(1);
}

/// SPEC.md §8.5.5: a ballot whose proofs fail is not counted by the
/// trustees (a board that breaks the rules lets it onto the log; an honest
/// one refuses it, as the in-memory board does too).
#[test]
fn ballot_with_failing_proofs_is_not_counted_in_the_recomputed_tally() {
    use psephos_crypto::election::Rule;
    use psephos_crypto::record::{Body, Payload, Post};
    use psephos_trustee::steps::{self, Outcome};
    use psephos_trustee::view::fetch_ceremony_view;

    let board = MemoryBoard::new();
    let mut party = Party::seeded(3, 11);
    let id = common::unique_id("bad-ballot");
    board.create(&id, &party.manifest(2)).unwrap();
    common::honest_ceremony(&board, &board, &mut party, &id);
    let expected = common::credentials_and_ballots(&board, &board, &party, &id);
    // Voter 4 (who abstained) sends a ballot whose ciphertexts were swapped
    // after proving: every signature is fine, the proofs are not.
    let codes = party.dir.path().join(format!("{id}-voters.txt"));
    let voters = psephos_trustee::credentials::read_codes(&codes).unwrap();
    let view = fetch_ceremony_view(&board, &id).unwrap();
    let good = common::ballot(&view, &voters[4], &[vec![1, 0, 0]], &mut common::seeded(12));
    let Payload::Ballot(mut b) = good.open().unwrap().payload else {
        panic!("not a ballot")
    };
    b.contests[0].ciphertexts.swap(0, 1);
    let body = Body {
        election: id.clone(),
        author: psephos_crypto::record::AuthorKey::of(&voters[4]),
        payload: Payload::Ballot(b),
    };
    let bad = Post::sign(&body, &voters[4]).unwrap();
    match board.post(&id, &bad) {
        Err(TrusteeError::Api { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (422, "invalid_proof"))
        }
        other => panic!("an honest board refuses the ballot: {other:?}"),
    }
    let index = board.append_unchecked(&id, bad).unwrap();
    board.close(&id).unwrap();
    for l in [1, 3] {
        match steps::decrypt(&board, party.trustee(l), &id).unwrap() {
            Outcome::Done(m) => {
                assert!(
                    m.contains("WARNING: 1 ballot entries were not counted"),
                    "{m}"
                );
                assert!(m.contains(&format!("entry {index} (ballot)")), "{m}");
                assert!(m.contains("§10.4 rule 5"), "{m}");
            }
            other => panic!("{other}"),
        }
    }
    let (view, tally) = steps::recompute_tally(&board, &id).unwrap();
    let tally = tally.unwrap();
    assert_eq!(tally.rejected.len(), 1);
    assert_eq!(tally.rejected[0].index, index);
    assert_eq!(tally.rejected[0].violation.rule, Rule::InvalidBallotProof);
    assert_eq!(tally.counted, 5);
    assert_eq!(tally.counted_weight, 7);
    assert_eq!(view.election().result(), Some(&expected));
}

/// SPEC.md §8.5.6: a crash after round 1 was saved but before its commit was
/// posted is resumed by posting the saved message's hash, not a new one.
#[test]
fn round1_interrupted_before_posting_resumes_with_the_saved_message() {
    use psephos_trustee::ceremony::Enrolled;
    use psephos_trustee::steps;
    use psephos_trustee::view::fetch_ceremony_view;

    let board = MemoryBoard::new();
    let mut party = Party::seeded(3, 3);
    let id = common::unique_id("resume");
    board.create(&id, &party.manifest(2)).unwrap();
    common::register_all(&board, &mut party, &id);
    let view = fetch_ceremony_view(&board, &id).unwrap();
    let file = party.trustee(2);
    let dealt = Enrolled::find(file.keys(), &view)
        .unwrap()
        .deal(file.keys(), &view, &mut common::seeded(4))
        .unwrap();
    let hash = dealt.hash();
    file.save_stage(&dealt).unwrap();
    // "Crash": nothing posted. Reopen the key file and run round 1.
    let path = file.path().to_owned();
    let mut reopened = psephos_trustee::state::TrusteeKeyFile::open(
        &path,
        psephos_trustee::keyfile::Passphrase::new("passphrase 2"),
        common::WORK,
    )
    .unwrap();
    common::waiting(
        steps::round1(&board, &mut reopened, &id).unwrap(),
        "dkg_commit from trustees 1, 3",
    );
    let view = fetch_ceremony_view(&board, &id).unwrap();
    assert_eq!(view.ceremony().commits.get(&2).copied(), Some(hash));
}

/// SPEC.md §8.5.6: a credential authority key file is not a trustee key
/// file, and a wrong passphrase is named as such.
#[test]
fn key_file_kind_and_passphrase_are_checked_when_opening() {
    use psephos_trustee::keyfile::Passphrase;
    use psephos_trustee::state::TrusteeKeyFile;
    use psephos_trustee::TrusteeError;

    let party = Party::seeded(1, 5);
    let ca = party.dir.path().join("ca.key");
    let err =
        TrusteeKeyFile::open(&ca, Passphrase::new("ca passphrase"), common::WORK).unwrap_err();
    assert!(
        err.to_string()
            .contains("credential authority key file, not a trustee"),
        "{err}"
    );
    let t1 = party.dir.path().join("trustee1.key");
    let err = TrusteeKeyFile::open(&t1, Passphrase::new("passphrase 2"), common::WORK).unwrap_err();
    assert!(matches!(err, TrusteeError::WrongPassphrase { .. }), "{err}");
}

/// SPEC.md §8.5.2: a reveal counts only once every trustee has committed.
/// A board that lets one in early misbehaves, and the tool says so rather
/// than count a dealing others may have chosen after seeing it.
#[test]
fn reveal_on_the_log_before_every_commit_is_not_counted() {
    use psephos_crypto::election::Rule;
    use psephos_trustee::state::Stage;
    use psephos_trustee::steps;
    use psephos_trustee::view::fetch_ceremony_view;
    use psephos_trustee::TrusteeError;

    let board = MemoryBoard::new();
    let mut party = Party::seeded(3, 6);
    let id = common::unique_id("early-reveal");
    board.create(&id, &party.manifest(2)).unwrap();
    common::register_all(&board, &mut party, &id);
    for l in [1, 2] {
        common::waiting(
            steps::round1(&board, party.trustee(l), &id).unwrap(),
            "dkg_commit from",
        );
    }
    let file = party.trustee(1);
    let Some(Stage::Dealt(dealt)) = file.stage(&id).unwrap() else {
        panic!("trustee 1 has dealt")
    };
    let early = board
        .append_unchecked(&id, dealt.reveal(file.keys()).unwrap())
        .unwrap();
    let view = fetch_ceremony_view(&board, &id).unwrap();
    assert!(view.ceremony().revealed.is_empty());
    let why = view.rejected_reveals.get(&1).unwrap();
    assert_eq!(why.index, early);
    assert_eq!(why.violation.rule, Rule::RevealBeforeCommits);
    assert_eq!(view.warnings, vec![why.clone()]);
    assert!(why.to_string().contains("§10.3 rule 3"), "{why}");
    // Trustee 3 commits last and reveals at once: that reveal counts.
    common::done(steps::round1(&board, party.trustee(3), &id).unwrap());
    let err = steps::round1(&board, party.trustee(1), &id).unwrap_err();
    assert!(matches!(err, TrusteeError::BoardMisbehaves(_)), "{err}");
}

/// SPEC.md §12.1: the board caps a weight at 2^20. A weight above it is
/// refused before any code is written, so no codes file is left for a list
/// the board would refuse.
#[test]
fn weight_above_the_boards_cap_is_refused_before_codes_are_written() {
    use psephos_trustee::credentials::{self, MAX_WEIGHT};

    let board = MemoryBoard::new();
    let party = Party::seeded(1, 7);
    let id = common::unique_id("weights");
    board.create(&id, &party.manifest(1)).unwrap();
    let weights = party.dir.path().join("weights.txt");
    std::fs::write(&weights, format!("1\n# comment\n\n{}\n", MAX_WEIGHT + 1)).unwrap();
    let err = credentials::read_weights(&weights).unwrap_err();
    assert!(err.to_string().contains("line 4"), "{err}");
    std::fs::write(&weights, format!("1\n{MAX_WEIGHT}\n")).unwrap();
    assert_eq!(
        credentials::read_weights(&weights).unwrap(),
        vec![1, MAX_WEIGHT]
    );

    let codes = party.dir.path().join("codes.txt");
    let err = credentials::generate(
        &board,
        &id,
        &party.ca,
        2,
        Some(vec![1, MAX_WEIGHT + 1]),
        &codes,
        &mut common::seeded(8),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("every weight must be between 1 and 2^20"),
        "{err}"
    );
    assert!(!codes.exists());
}

/// A client that posts to the in-memory board without any check (and so
/// without the `result` an honest board appends with the `t`-th partial
/// decryption): the trustee steps, run against a board that lets the test
/// write the result itself.
struct Unchecked<'a>(&'a MemoryBoard);

impl BoardClient for Unchecked<'_> {
    fn board_info(&self) -> Result<psephos_trustee::board::BoardInfo> {
        self.0.board_info()
    }
    fn status(&self, election: &str) -> Result<psephos_trustee::board::ElectionStatus> {
        self.0.status(election)
    }
    fn entries(
        &self,
        election: &str,
        start: u64,
        end: u64,
    ) -> Result<psephos_trustee::board::EntryPage> {
        self.0.entries(election, start, end)
    }
    fn post(
        &self,
        election: &str,
        post: &psephos_crypto::record::Post,
    ) -> Result<psephos_trustee::board::Receipt> {
        let copy = psephos_crypto::record::Post {
            body: post.body.clone(),
            signature: post.signature,
        };
        let index = self.0.append_unchecked(election, copy)?;
        self.0.receipt(election, index)
    }
}

/// SPEC.md §8.5.4, §10.3 rule 5: a `joint_key` the board signs although
/// fewer than `t` dealers qualify is refused. The tool stops — no step
/// derives a key share from it — and names the entry and the rule.
#[test]
fn joint_key_with_fewer_than_t_qualified_dealers_stops_the_trustees() {
    use ed25519_dalek::SigningKey;
    use psephos_crypto::election::Rule;
    use psephos_crypto::encoding::Point;
    use psephos_crypto::record::Payload;
    use psephos_crypto::threshold::{joint_key, verification_key};
    use psephos_trustee::steps;
    use psephos_trustee::view::fetch_ceremony_view;

    let board = MemoryBoard::with_key(SigningKey::generate(&mut common::seeded(21)));
    let mut party = Party::seeded(3, 22);
    let id = common::unique_id("short-key");
    board.create(&id, &party.manifest(2)).unwrap();
    common::register_all(&board, &mut party, &id);
    // Every trustee commits; trustee 3, the last, also reveals. Trustees 1
    // and 2 go away: only one dealer of the two needed qualifies.
    for l in 1..=2 {
        common::waiting(
            steps::round1(&board, party.trustee(l), &id).unwrap(),
            "dkg_commit from",
        );
    }
    common::done(steps::round1(&board, party.trustee(3), &id).unwrap());
    match board.finalize_keys(&id) {
        Err(TrusteeError::Api { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (409, "ceremony_incomplete"))
        }
        other => panic!("an honest board refuses to finalize: {other:?}"),
    }
    // The board writes the key of dealer 3 alone anyway: internally
    // consistent (PK = A_30, X_m from its commitments), signed by the board.
    let view = fetch_ceremony_view(&board, &id).unwrap();
    let commitments = view.ceremony().revealed[&3].commitments.clone();
    let dealers = [commitments.as_slice()];
    let lie = Payload::JointKey {
        qualified: vec![3],
        public_key: joint_key(&dealers).unwrap(),
        verification_keys: (1..=3)
            .map(|m| *verification_key(m, &dealers).unwrap().as_point())
            .collect::<Vec<Point>>(),
    };
    let index = board
        .append_unchecked(&id, board.sign_as_board(&id, lie).unwrap())
        .unwrap();

    let (at, kind, violation) = common::board_entry_broken(fetch_ceremony_view(&board, &id));
    assert_eq!((at, kind), (index, "joint_key"));
    assert_eq!(violation.rule, Rule::TooFewQualified);
    for l in 1..=3 {
        let (at, _, violation) =
            common::board_entry_broken(steps::ack(&board, party.trustee(l), &id));
        assert_eq!(at, index);
        assert_eq!(violation.rule, Rule::TooFewQualified);
    }
    let err = steps::round2(&board, party.trustee(3), &id).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!("joint_key entry {index}"))
            && text.contains("TooFewQualified")
            && text.contains("§10.3 rule 5"),
        "{text}"
    );
    // No key share was derived.
    for l in 1..=3 {
        let stage = party.trustee(l).stage(&id).unwrap().unwrap();
        assert!(
            !matches!(stage, psephos_trustee::state::Stage::Holding(_)),
            "trustee {l}: {}",
            stage.name()
        );
    }
}

/// SPEC.md §10.5, §11.10: the `result` must combine the first `t` valid
/// partial decryptions in log order. A board that names other trustees
/// stops the tool at its `result` entry, even with the right counts.
#[test]
fn result_naming_the_wrong_trustees_stops_the_trustees() {
    use ed25519_dalek::SigningKey;
    use psephos_crypto::election::Rule;
    use psephos_crypto::record::Payload;
    use psephos_trustee::steps;

    let board = MemoryBoard::with_key(SigningKey::generate(&mut common::seeded(41)));
    let mut party = Party::seeded(3, 42);
    let id = common::unique_id("wrong-result");
    board.create(&id, &party.manifest(2)).unwrap();
    common::honest_ceremony(&board, &board, &mut party, &id);
    let expected = common::credentials_and_ballots(&board, &board, &party, &id);
    board.close(&id).unwrap();
    // Trustees 1 and 3 decrypt; the board does not append the result.
    let unchecked = Unchecked(&board);
    for l in [1, 3] {
        common::done(steps::decrypt(&unchecked, party.trustee(l), &id).unwrap());
    }
    let (view, tally) = steps::recompute_tally(&board, &id).unwrap();
    assert_eq!(
        view.election()
            .partials()
            .iter()
            .map(|p| p.0)
            .collect::<Vec<_>>(),
        vec![1, 3]
    );
    assert!(view.election().published().is_none());
    // The board's result: the right tally and counts, but trustees 1 and 2.
    let lie = Payload::Result {
        tally: tally.unwrap().ciphertexts.to_vec(),
        trustees: vec![1, 2],
        counts: expected,
    };
    let index = board
        .append_unchecked(&id, board.sign_as_board(&id, lie).unwrap())
        .unwrap();

    let (at, kind, violation) = common::board_entry_broken(steps::recompute_tally(&board, &id));
    assert_eq!((at, kind), (index, "result"));
    assert_eq!(violation.rule, Rule::ResultTrustees);
    let (at, _, violation) =
        common::board_entry_broken(steps::decrypt(&board, party.trustee(2), &id));
    assert_eq!(at, index);
    assert_eq!(violation.rule, Rule::ResultTrustees);
    let err = steps::status(&board, &id, None).unwrap_err();
    assert!(err.to_string().contains("§10.5"), "{err}");
}

/// SPEC.md §10.4 rule 6: a ballot whose `R` points an earlier ballot used
/// does not count. Here the board replays voter 0's first ballot after its
/// second: counted, it would turn voter 0's vote back to its first choice.
#[test]
fn replayed_ballot_reusing_r_points_is_not_counted() {
    use psephos_crypto::election::Rule;
    use psephos_crypto::record::{Entry, Payload, Post};
    use psephos_trustee::steps::{self, Outcome};

    let board = MemoryBoard::new();
    let mut party = Party::seeded(3, 51);
    let id = common::unique_id("replay");
    board.create(&id, &party.manifest(2)).unwrap();
    common::honest_ceremony(&board, &board, &mut party, &id);
    let expected = common::credentials_and_ballots(&board, &board, &party, &id);
    let lines = board.lines(&id).unwrap();
    let first = lines
        .iter()
        .map(|l| Entry::from_line(l).unwrap())
        .find(|e| matches!(e.open().unwrap().payload, Payload::Ballot(_)))
        .unwrap();
    let replay = || Post {
        body: first.body.clone(),
        signature: first.signature,
    };
    match board.post(&id, &replay()) {
        Err(TrusteeError::Api { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (409, "ciphertext_reused"))
        }
        other => panic!("an honest board refuses the replay: {other:?}"),
    }
    let index = board.append_unchecked(&id, replay()).unwrap();
    board.close(&id).unwrap();
    for l in [1, 3] {
        match steps::decrypt(&board, party.trustee(l), &id).unwrap() {
            Outcome::Done(m) => assert!(
                m.contains("WARNING: 1 ballot entries were not counted")
                    && m.contains(&format!("entry {index} (ballot)"))
                    && m.contains("CiphertextReused"),
                "{m}"
            ),
            other => panic!("{other}"),
        }
    }
    let (view, tally) = steps::recompute_tally(&board, &id).unwrap();
    let tally = tally.unwrap();
    assert_eq!(tally.rejected.len(), 1);
    assert_eq!(tally.rejected[0].index, index);
    assert_eq!(tally.rejected[0].violation.rule, Rule::CiphertextReused);
    assert!(
        tally.rejected[0]
            .violation
            .message
            .contains(&format!("entry {}", first.index)),
        "{}",
        tally.rejected[0].violation
    );
    // Voter 0's last valid ballot (option 2) is the counted one.
    assert_eq!(view.election().result(), Some(&expected));
}
