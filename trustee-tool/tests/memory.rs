//! The issue-4 scenarios against the in-memory board, plus the cases only
//! an in-memory board can stage (an invalid ballot on the log).

mod common;

use common::{Admin, Party};
use psephos_crypto::record::Manifest;
use psephos_trustee::board::BoardClient;
use psephos_trustee::memory_board::MemoryBoard;
use psephos_trustee::Result;

impl Admin for MemoryBoard {
    fn create(&self, id: &str, manifest: &Manifest) -> Result<()> {
        self.create_election(id, manifest)
    }
    fn close_commits(&self, id: &str) -> Result<()> {
        MemoryBoard::close_commits(self, id)
    }
    fn finalize(&self, id: &str) -> Result<()> {
        self.finalize_keys(id)
    }
    fn open(&self, id: &str) -> Result<()> {
        MemoryBoard::open(self, id)
    }
    fn close(&self, id: &str) -> Result<()> {
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
    let mut party = Party::new(3);
    let mut outsider = Party::new(1);
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
/// trustees (an in-memory board lets it onto the log; a real one would not).
#[test]
fn ballot_with_failing_proofs_is_not_counted_in_the_recomputed_tally() {
    use psephos_crypto::record::{Body, Payload, Post};
    use psephos_trustee::steps::{self, Outcome};
    use psephos_trustee::view::fetch_ceremony_view;

    let board = MemoryBoard::new();
    let mut party = Party::new(3);
    let id = common::unique_id("bad-ballot");
    board.create(&id, &party.manifest(2)).unwrap();
    common::honest_ceremony(&board, &board, &mut party, &id);
    let expected = common::credentials_and_ballots(&board, &board, &party, &id);
    // Voter 4 (who abstained) sends a ballot whose ciphertexts were swapped
    // after proving: every signature is fine, the proofs are not.
    let codes = party.dir.path().join(format!("{id}-voters.txt"));
    let voters = psephos_trustee::credentials::read_codes(&codes).unwrap();
    let view = fetch_ceremony_view(&board, &id).unwrap();
    let good = common::ballot(&view, &voters[4], &[vec![1, 0, 0]]);
    let Payload::Ballot(mut b) = good.open().unwrap().payload else {
        panic!("not a ballot")
    };
    b.contests[0].ciphertexts.swap(0, 1);
    let body = Body {
        election: id.clone(),
        author: psephos_crypto::record::AuthorKey::of(&voters[4]),
        payload: Payload::Ballot(b),
    };
    board
        .post(&id, &Post::sign(&body, &voters[4]).unwrap())
        .unwrap();
    board.close(&id).unwrap();
    for l in [1, 3] {
        match steps::decrypt(&board, party.trustee(l), &id).unwrap() {
            Outcome::Done(m) => assert!(
                m.contains("WARNING: 1 ballot entries were not counted"),
                "{m}"
            ),
            other => panic!("{other}"),
        }
    }
    let (view, tally) = steps::recompute_tally(&board, &id).unwrap();
    let tally = tally.unwrap();
    assert_eq!(tally.invalid.len(), 1);
    assert_eq!(tally.counted, 5);
    assert_eq!(
        psephos_trustee::tally::combine_counts(&view, &tally, &[1, 3]).unwrap(),
        expected
    );
}

/// SPEC.md §8.5.6: a crash after round 1 was saved but before its commit was
/// posted is resumed by posting the saved message's hash, not a new one.
#[test]
fn round1_interrupted_before_posting_resumes_with_the_saved_message() {
    use psephos_trustee::ceremony::Enrolled;
    use psephos_trustee::steps;
    use psephos_trustee::view::fetch_ceremony_view;
    use rand_core::OsRng;

    let board = MemoryBoard::new();
    let mut party = Party::new(3);
    let id = common::unique_id("resume");
    board.create(&id, &party.manifest(2)).unwrap();
    common::register_all(&board, &mut party, &id);
    let view = fetch_ceremony_view(&board, &id).unwrap();
    let file = party.trustee(2);
    let dealt = Enrolled::find(file.keys(), &view)
        .unwrap()
        .deal(file.keys(), &view, &mut OsRng)
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
    assert_eq!(view.commits.get(&2).map(|c| c.1), Some(hash));
}

/// SPEC.md §8.5.6: a credential authority key file is not a trustee key
/// file, and a wrong passphrase is named as such.
#[test]
fn key_file_kind_and_passphrase_are_checked_when_opening() {
    use psephos_trustee::keyfile::Passphrase;
    use psephos_trustee::state::TrusteeKeyFile;
    use psephos_trustee::TrusteeError;

    let party = Party::new(1);
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
    use psephos_trustee::state::Stage;
    use psephos_trustee::steps;
    use psephos_trustee::view::fetch_ceremony_view;
    use psephos_trustee::TrusteeError;

    let board = MemoryBoard::new();
    let mut party = Party::new(3);
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
    board
        .append_unchecked(&id, dealt.reveal(file.keys()).unwrap())
        .unwrap();
    let view = fetch_ceremony_view(&board, &id).unwrap();
    assert!(view.reveals.is_empty());
    let why = view.rejected_reveals.get(&1).unwrap();
    assert!(
        why.contains("before every trustee committed (missing 3)"),
        "{why}"
    );
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
    use rand_core::OsRng;

    let board = MemoryBoard::new();
    let party = Party::new(1);
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
        &mut OsRng,
    )
    .unwrap_err();
    assert!(err.to_string().contains("from 1 to"), "{err}");
    assert!(!codes.exists());
}
