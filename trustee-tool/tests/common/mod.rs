//! Scenarios of issue 4, written once against [`BoardClient`] + [`Admin`],
//! run against the in-memory board (`memory.rs`) and the real board
//! (`real_board.rs`). Each names the SPEC.md section it exercises.

// Test support: failing loudly is the point.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ed25519_dalek::SigningKey;
use psephos_crypto::ballot::{
    encrypt_ballot, short_tracking_code, tracking_code, BallotContext, Contest, ContestOption,
};
use psephos_crypto::encoding::{decode_hex32, Scalar};
use psephos_crypto::log::checkpoint::{open_checkpoint, NoteVerifier};
use psephos_crypto::log::merkle::{leaf_hash, verify_inclusion};
use psephos_crypto::record::{
    AuthorKey, Body, CredentialEntry, EncryptedShare, Entry, Manifest, Payload, Post, TrusteeInfo,
};
use psephos_crypto::share_encryption::encrypt_share;
use psephos_crypto::threshold::Polynomial;
use psephos_crypto::wire::{Created, ElectionStatus, Receipt};
use psephos_trustee::board::BoardClient;
use psephos_trustee::credentials::{self, AuthorityKeyFile};
use psephos_trustee::keyfile::{Passphrase, WorkFactor};
use psephos_trustee::state::TrusteeKeyFile;
use psephos_trustee::steps::{self, Outcome};
use psephos_trustee::view::{fetch_ceremony_view, fetch_view, Reading};
use psephos_trustee::Result;
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// The administrator's actions.
pub trait Admin {
    fn create(&self, id: &str, manifest: &Manifest) -> Result<Created>;
    fn close_commits(&self, id: &str) -> Result<Receipt>;
    fn finalize(&self, id: &str) -> Result<Receipt>;
    fn open(&self, id: &str) -> Result<Receipt>;
    fn close(&self, id: &str) -> Result<Receipt>;
}

/// A receipt (SPEC.md §10.2) checked against the board that gave it: its
/// checkpoint is signed with the key `GET /api/v1/board` names, under the
/// election's origin, over a tree of its `size`; the inclusion proof puts
/// the entry line's leaf hash at `index` in it; the tracking code is that
/// of the entry's body bytes.
pub fn check_receipt<B: BoardClient>(board: &B, id: &str, receipt: &Receipt) {
    let info = board.board_info().unwrap();
    let key = NoteVerifier::from_vkey(&info.key).unwrap();
    let (checkpoint, _) = open_checkpoint(&receipt.checkpoint, &key).unwrap();
    assert_eq!(checkpoint.origin, format!("{}/{id}", info.origin));
    assert_eq!(checkpoint.size, receipt.size);
    assert!(receipt.index < receipt.size, "{receipt:?}");
    let page = board.entries(id, receipt.index, receipt.index + 1).unwrap();
    let line = &page.lines[0];
    let leaf = leaf_hash(line.as_bytes());
    assert_eq!(receipt.leaf_hash, hex::encode(leaf));
    let proof: Vec<[u8; 32]> = receipt
        .inclusion_proof
        .iter()
        .map(|h| decode_hex32("proof", h).unwrap())
        .collect();
    verify_inclusion(&leaf, receipt.index, receipt.size, &proof, &checkpoint.root).unwrap();
    let entry = Entry::from_line(line).unwrap();
    assert_eq!(entry.index, receipt.index);
    let code = tracking_code(entry.body.get().as_bytes());
    assert_eq!(receipt.tracking_code, hex::encode(code));
    assert_eq!(receipt.short_code, short_tracking_code(&code));
}

/// The board's status document (SPEC.md §10.1) is the one the crypto core
/// builds from the tool's own replay of the log, and its checkpoint is
/// signed over the whole log.
pub fn check_status<B: BoardClient>(board: &B, id: &str) -> ElectionStatus {
    let status = board.status(id).unwrap();
    let view = fetch_view(board, id, Reading::Everything).unwrap();
    assert_eq!(
        status,
        ElectionStatus::of(view.election(), view.size, status.checkpoint.clone())
    );
    let info = board.board_info().unwrap();
    let key = NoteVerifier::from_vkey(&info.key).unwrap();
    let (checkpoint, _) = open_checkpoint(&status.checkpoint, &key).unwrap();
    assert_eq!(checkpoint.size, status.size);
    status
}

/// Fast key files for tests.
pub const WORK: WorkFactor = WorkFactor(Some(2));

/// Five trustees' key files and a credential authority.
pub struct Party {
    pub dir: TempDir,
    pub trustees: Vec<TrusteeKeyFile>,
    pub ca: AuthorityKeyFile,
}

/// The error the tool stops with at a board entry that breaks a rule
/// (SPEC.md §8.5): its index, type and violation.
pub fn board_entry_broken<T: std::fmt::Debug>(
    r: Result<T>,
) -> (u64, &'static str, psephos_crypto::election::Violation) {
    match r {
        Err(psephos_trustee::TrusteeError::BoardEntryBroken {
            index,
            kind,
            violation,
        }) => (index, kind, violation),
        other => panic!("expected the tool to stop at a broken board entry, got {other:?}"),
    }
}

/// A deterministic generator for a test's own randomness.
pub fn seeded(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

impl Party {
    /// Key files made from a seeded generator.
    pub fn seeded(n: u32, seed: u64) -> Self {
        Self::with_rng(n, &mut seeded(seed))
    }

    fn with_rng<R: RngCore + CryptoRng>(n: u32, rng: &mut R) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let trustees = (1..=n)
            .map(|l| {
                TrusteeKeyFile::create(
                    &dir.path().join(format!("trustee{l}.key")),
                    Passphrase::new(format!("passphrase {l}")),
                    WORK,
                    rng,
                )
                .unwrap()
            })
            .collect();
        let ca = AuthorityKeyFile::create(
            &dir.path().join("ca.key"),
            &Passphrase::new("ca passphrase"),
            WORK,
            rng,
        )
        .unwrap();
        Party { dir, trustees, ca }
    }

    pub fn manifest(&self, t: u32) -> Manifest {
        Manifest {
            title: "Test election".into(),
            contests: vec![Contest {
                id: "mayor".into(),
                title: "Mayor".into(),
                options: (0..3)
                    .map(|i| ContestOption {
                        id: format!("o{i}"),
                        label: format!("Option {i}"),
                    })
                    .collect(),
                min_selections: 1,
                max_selections: 1,
                max_per_option: 1,
            }],
            trustees: self
                .trustees
                .iter()
                .zip(1u32..)
                .map(|(f, l)| TrusteeInfo {
                    index: l,
                    name: format!("Trustee {l}"),
                    key: f.keys().author(),
                })
                .collect(),
            threshold: t,
            credential_authority: self.ca.author(),
            witnesses: Vec::new(),
            witness_quorum: 0,
            // Test elections decrypt a handful of ballots.
            min_counted: Some(1),
            max_ballots_per_credential: None,
        }
    }

    pub fn trustee(&mut self, l: u32) -> &mut TrusteeKeyFile {
        &mut self.trustees[l as usize - 1]
    }
}

pub fn done(o: Outcome) -> String {
    match o {
        Outcome::Done(m) => m,
        other => panic!("expected done, got {other}"),
    }
}

pub fn waiting(o: Outcome, expected: &str) {
    match o {
        Outcome::Waiting { waiting_for, .. } => assert!(
            waiting_for.contains(expected),
            "waiting for {waiting_for:?}, expected {expected:?}"
        ),
        other => panic!("expected waiting for {expected}, got {other}"),
    }
}

/// An election id for `prefix`, the same on every run: `prefix-` and the
/// first 4 bytes of its SHA-256. Every test has a fresh board, so ids of
/// distinct prefixes are unique.
pub fn unique_id(prefix: &str) -> String {
    let digest = Sha256::digest(prefix.as_bytes());
    format!("{prefix}-{}", hex::encode(&digest[..4]))
}

/// Registration and round 1 for `dealers`; others only register.
pub fn register_all<B: BoardClient>(board: &B, party: &mut Party, id: &str) {
    let n = party.trustees.len() as u32;
    for l in 1..=n {
        let m = done(steps::register(board, party.trustee(l), id).unwrap());
        assert!(m.contains(&format!("trustee {l}")), "{m}");
    }
    // Registering again is harmless (SPEC.md §8.5.1: steps are idempotent).
    let again = done(steps::register(board, party.trustee(1), id).unwrap());
    assert!(again.contains("already registered"), "{again}");
}

/// The whole ceremony with every trustee honest (SPEC.md §8.5).
pub fn honest_ceremony<B: BoardClient, A: Admin>(
    board: &B,
    admin: &A,
    party: &mut Party,
    id: &str,
) {
    let n = party.trustees.len() as u32;
    register_all(board, party, id);
    // Trustee 1 commits first and must wait for the others' commits.
    waiting(
        steps::round1(board, party.trustee(1), id).unwrap(),
        &format!(
            "dkg_commit from trustees {}",
            (2..=n)
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    // Running it again posts nothing new and still waits.
    waiting(
        steps::round1(board, party.trustee(1), id).unwrap(),
        "dkg_commit from",
    );
    for l in 2..n {
        waiting(
            steps::round1(board, party.trustee(l), id).unwrap(),
            "dkg_commit from",
        );
    }
    done(steps::round1(board, party.trustee(n), id).unwrap());
    // Round 2 before everyone revealed: trustee n waits for the others.
    waiting(
        steps::round2(board, party.trustee(n), id).unwrap(),
        "dkg_commitments from trustees 1",
    );
    for l in 1..n {
        done(steps::round1(board, party.trustee(l), id).unwrap());
    }
    for l in 1..=n {
        let m = done(steps::round2(board, party.trustee(l), id).unwrap());
        assert!(m.contains("accused: none"), "{m}");
    }
    waiting(
        steps::ack(board, party.trustee(1), id).unwrap(),
        "joint_key",
    );
    let receipt = admin.finalize(id).unwrap();
    check_receipt(board, id, &receipt);
    for l in 1..=n {
        let m = done(steps::ack(board, party.trustee(l), id).unwrap());
        assert!(m.contains("posted key_ack"), "{m}");
    }
    let m = done(steps::ack(board, party.trustee(2), id).unwrap());
    assert!(m.contains("already acknowledged"), "{m}");
    let view = fetch_ceremony_view(board, id).unwrap();
    let joint = view.joint().unwrap();
    assert_eq!(joint.qualified, (1..=n).collect::<Vec<_>>());
    assert_eq!(view.ceremony().acks.len(), n as usize);
    assert!(view.warnings.is_empty(), "{:?}", view.warnings);
    let status = check_status(board, id);
    assert_eq!(status.state, "ready");
    assert_eq!(
        status.waiting_for,
        "the credential list, then the administrator's open"
    );
}

/// Post the credential list through the tool and cast ballots with the
/// codes it wrote (SPEC.md §12). Returns the expected counts.
pub fn credentials_and_ballots<B: BoardClient, A: Admin>(
    board: &B,
    admin: &A,
    party: &Party,
    id: &str,
) -> Vec<Vec<u64>> {
    let digest = Sha256::digest(id.as_bytes());
    let mut rng = seeded(u64::from_le_bytes(digest[..8].try_into().unwrap()));
    let weights_path = party.dir.path().join(format!("{id}-weights.txt"));
    std::fs::write(
        &weights_path,
        "# one weight per voter\n1\n1\n1\n1\n1\n\n3\n",
    )
    .unwrap();
    let weights = credentials::read_weights(&weights_path).unwrap();
    let codes_path = party.dir.path().join(format!("{id}-voters.txt"));
    let m = done(
        credentials::generate(
            board,
            id,
            &party.ca,
            6,
            Some(weights.clone()),
            &codes_path,
            &mut rng,
        )
        .unwrap(),
    );
    assert!(m.contains("posted the list of 6 credentials"), "{m}");
    // Idempotent: running it again finds the same list on the board.
    let again = done(
        credentials::generate(
            board,
            id,
            &party.ca,
            6,
            Some(weights.clone()),
            &codes_path,
            &mut rng,
        )
        .unwrap(),
    );
    assert!(again.contains("already on the board"), "{again}");
    let text = std::fs::read_to_string(&codes_path).unwrap();
    assert_eq!(text.lines().count(), 6);
    assert!(text.lines().all(|l| l.starts_with("psephos-cred-1:")));
    let voters = credentials::read_codes(&codes_path).unwrap();
    let receipt = admin.open(id).unwrap();
    check_receipt(board, id, &receipt);

    let view = fetch_ceremony_view(board, id).unwrap();
    let listed = Body {
        election: id.to_owned(),
        author: party.ca.author(),
        payload: Payload::CredentialList {
            credentials: voters
                .iter()
                .zip(&weights)
                .map(|(v, w)| CredentialEntry {
                    key: AuthorKey::of(v),
                    weight: *w,
                })
                .collect(),
        },
    };
    let listed: [u8; 32] = Sha256::digest(serde_json::to_string(&listed).unwrap()).into();
    assert_eq!(
        view.credential_list.as_ref().unwrap().body_sha256,
        listed,
        "the list on the board is the codes' public keys, in order, with their weights"
    );
    // Voter 0 votes twice (the last counts); voter 4 abstains; voter 5
    // has weight 3.
    let votes: [(usize, usize); 6] = [(0, 0), (1, 1), (2, 0), (3, 2), (5, 1), (0, 2)];
    for (v, option) in votes {
        let mut choice = vec![0u64; 3];
        choice[option] = 1;
        let receipt = board
            .post(id, &ballot(&view, &voters[v], &[choice], &mut rng))
            .unwrap();
        check_receipt(board, id, &receipt);
    }
    vec![vec![1, 4, 2]]
}

/// A ballot signed with a credential.
pub fn ballot<R: RngCore + CryptoRng>(
    view: &psephos_trustee::view::ElectionView,
    voter: &SigningKey,
    choices: &[Vec<u64>],
    rng: &mut R,
) -> Post {
    let fp = view.election_fp().unwrap();
    let pk = view.joint().unwrap().pk;
    let credential = voter.verifying_key().to_bytes();
    let ctx = BallotContext {
        fingerprint: &fp,
        pk: &pk,
        credential: &credential,
    };
    let (b, _) = encrypt_ballot(&ctx, &view.manifest().contests, choices, rng).unwrap();
    let body = Body {
        election: view.id().to_owned(),
        author: AuthorKey::of(voter),
        payload: Payload::Ballot(b),
    };
    Post::sign(&body, voter).unwrap()
}

/// Close, decrypt with exactly `trustees`, and check the counts the board
/// published with the `t`-th partial decryption, which the state machine
/// checked against the partial decryptions while the tool read the log
/// (SPEC.md §8.4, §10.5).
pub fn close_and_decrypt<B: BoardClient, A: Admin>(
    board: &B,
    admin: &A,
    party: &mut Party,
    id: &str,
    trustees: &[u32],
    expected: &[Vec<u64>],
) {
    let first = trustees[0];
    waiting(
        steps::decrypt(board, party.trustee(first), id).unwrap(),
        "voting_closed",
    );
    check_receipt(board, id, &admin.close(id).unwrap());
    for &l in trustees {
        let m = done(steps::decrypt(board, party.trustee(l), id).unwrap());
        assert!(m.contains("partial decryption"), "{m}");
    }
    let m = done(steps::decrypt(board, party.trustee(first), id).unwrap());
    assert!(m.contains("already posted"), "{m}");
    let (view, tally) = steps::recompute_tally(board, id).unwrap();
    let tally = tally.unwrap();
    assert!(tally.rejected.is_empty(), "{:?}", tally.rejected);
    assert!(view.warnings.is_empty(), "{:?}", view.warnings);
    let result = view
        .election()
        .published()
        .expect("the board posts the result with the t-th partial decryption");
    assert!(result.verified);
    assert_eq!(result.counts, expected, "the board's published result");
    assert_eq!(result.trustees, trustees, "the first t partial decryptions");
    let status = check_status(board, id);
    assert_eq!(status.state, "tallied");
    assert_eq!(status.result.as_deref(), Some(expected));
}

/// Issue 4: a full ceremony n = 5, t = 3, credentials, ballots, decryption
/// with exactly t trustees; then a second election with the same key files
/// decrypted by another t (SPEC.md §8.5, §12).
pub fn full_ceremony_and_decryption<B: BoardClient, A: Admin>(board: &B, admin: &A) {
    let mut party = Party::seeded(5, 101);
    for (k, subset) in [[1u32, 2, 3], [3, 4, 5]].iter().enumerate() {
        let id = unique_id(&format!("full{k}"));
        let created = admin.create(&id, &party.manifest(3)).unwrap();
        assert_eq!((created.election.as_str(), created.index), (id.as_str(), 0));
        check_receipt(board, id.as_str(), &created.receipt);
        honest_ceremony(board, admin, &mut party, &id);
        let expected = credentials_and_ballots(board, admin, &party, &id);
        close_and_decrypt(board, admin, &mut party, &id, subset, &expected);
    }
}

/// A dealing by trustee `cheater` whose share to `victim` is wrong: its
/// commit is posted, its reveal returned for posting once every commit is
/// in (SPEC.md §8.3).
pub fn cheat<B: BoardClient>(
    board: &B,
    party: &Party,
    id: &str,
    cheater: u32,
    victim: u32,
) -> Post {
    let view = fetch_ceremony_view(board, id).unwrap();
    let fp = *view.ceremony_fp();
    let mut rng = seeded(0xc4ea7);
    let poly = Polynomial::random(view.t(), &mut rng).unwrap();
    let shares: Vec<EncryptedShare> = view
        .ceremony()
        .registrations
        .iter()
        .filter(|(m, _)| **m != cheater)
        .map(|(&m, y)| {
            let share: Scalar = if m == victim {
                poly.evaluate(m + 7)
            } else {
                poly.evaluate(m)
            };
            let y = y.non_identity("Y").unwrap();
            let (ephemeral, ciphertext) =
                encrypt_share(&fp, cheater, m, &y, &share, &mut rng).unwrap();
            EncryptedShare {
                to: m,
                ephemeral,
                ciphertext,
            }
        })
        .collect();
    let keys = party.trustees[cheater as usize - 1].keys();
    let reveal = keys
        .sign(
            id,
            Payload::DkgCommitments {
                trustee: cheater,
                commitments: poly.commitments(),
                proofs: poly.prove_coefficients(&fp, cheater, &mut rng),
                shares,
            },
        )
        .unwrap();
    let hash: [u8; 32] = Sha256::digest(reveal.body_text().as_bytes()).into();
    board
        .post(
            id,
            &keys
                .sign(
                    id,
                    Payload::DkgCommit {
                        trustee: cheater,
                        hash,
                    },
                )
                .unwrap(),
        )
        .unwrap();
    reveal
}

/// Issue 4: a cheating dealer is caught by a complaint anyone can check and
/// disqualified; the ceremony goes on and the election decrypts
/// (SPEC.md §8.3, §8.5.3).
pub fn cheating_dealer_is_disqualified<B: BoardClient, A: Admin>(board: &B, admin: &A) {
    let mut party = Party::seeded(5, 102);
    let id = unique_id("cheat");
    admin.create(&id, &party.manifest(3)).unwrap();
    register_all(board, &mut party, &id);
    // Trustee 2 deals a bad share to trustee 4.
    let reveal = cheat(board, &party, &id, 2, 4);
    for l in [1u32, 3, 4, 5] {
        let _ = steps::round1(board, party.trustee(l), &id).unwrap();
    }
    board.post(&id, &reveal).unwrap();
    for l in [1u32, 3, 4] {
        done(steps::round1(board, party.trustee(l), &id).unwrap());
    }
    for l in [1u32, 3, 5] {
        let m = done(steps::round2(board, party.trustee(l), &id).unwrap());
        assert!(m.contains("accused: none"), "{m}");
    }
    let m = done(steps::round2(board, party.trustee(4), &id).unwrap());
    assert!(m.contains("posted dkg_complaint against dealer 2"), "{m}");
    assert!(m.contains("accused: 2"), "{m}");
    // Running round 2 again does not complain twice.
    let again = done(steps::round2(board, party.trustee(4), &id).unwrap());
    assert!(!again.contains("posted dkg_complaint"), "{again}");
    admin.finalize(&id).unwrap();
    let view = fetch_ceremony_view(board, &id).unwrap();
    let joint = view.joint().unwrap();
    assert_eq!(joint.qualified, vec![1, 3, 4, 5]);
    let founded: Vec<(u32, u32)> = view
        .ceremony()
        .complaints
        .iter()
        .filter(|c| c.founded)
        .map(|c| (c.trustee, c.dealer))
        .collect();
    assert_eq!(
        founded,
        vec![(4, 2)],
        "trustee 4's complaint proves dealer 2 bad"
    );
    // The honest trustees and even the cheater (as a receiver of shares)
    // hold valid key shares.
    for l in 1..=5 {
        done(steps::ack(board, party.trustee(l), &id).unwrap());
    }
    let expected = credentials_and_ballots(board, admin, &party, &id);
    close_and_decrypt(board, admin, &mut party, &id, &[1, 2, 4], &expected);
}

/// Issue 4: trustee 5 commits but never reveals in round 1; the others go
/// on, finalize-keys leaves it out, and it can still receive its key share
/// afterwards and take part in the decryption (SPEC.md §8.5.2).
pub fn absent_trustee_is_left_out<B: BoardClient, A: Admin>(board: &B, admin: &A) {
    let mut party = Party::seeded(5, 103);
    let id = unique_id("absent");
    admin.create(&id, &party.manifest(3)).unwrap();
    register_all(board, &mut party, &id);
    waiting(
        steps::round1(board, party.trustee(5), &id).unwrap(),
        "dkg_commit from trustees 1, 2, 3, 4",
    );
    // Trustee 5 disappears. The others commit and reveal.
    for l in 1..=4 {
        let _ = steps::round1(board, party.trustee(l), &id).unwrap();
    }
    for l in 1..=4 {
        done(steps::round1(board, party.trustee(l), &id).unwrap());
    }
    for l in 1..=4 {
        waiting(
            steps::round2(board, party.trustee(l), &id).unwrap(),
            "dkg_commitments from trustee 5",
        );
    }
    admin.finalize(&id).unwrap();
    for l in 1..=4 {
        done(steps::ack(board, party.trustee(l), &id).unwrap());
    }
    let view = fetch_ceremony_view(board, &id).unwrap();
    assert_eq!(view.joint().unwrap().qualified, vec![1, 2, 3, 4]);
    // Trustee 5 comes back: too late to deal, but round 2 and ack work.
    let err = steps::round1(board, party.trustee(5), &id).unwrap_err();
    assert!(
        err.to_string()
            .contains("finalized before trustee 5 revealed"),
        "{err}"
    );
    done(steps::round2(board, party.trustee(5), &id).unwrap());
    let m = done(steps::ack(board, party.trustee(5), &id).unwrap());
    assert!(m.contains("qualified dealers 1, 2, 3, 4"), "{m}");
    let expected = credentials_and_ballots(board, admin, &party, &id);
    close_and_decrypt(board, admin, &mut party, &id, &[2, 4, 5], &expected);
}

/// SPEC.md §8.5.4, §10.3: voting cannot open before `t` trustees have
/// acknowledged the joint key, even with the credential list posted.
pub fn voting_cannot_open_before_t_acknowledgements<B: BoardClient, A: Admin>(
    board: &B,
    admin: &A,
) {
    let mut party = Party::seeded(3, 104);
    let id = unique_id("acks");
    admin.create(&id, &party.manifest(2)).unwrap();
    register_all(board, &mut party, &id);
    for l in 1..=3 {
        let _ = steps::round1(board, party.trustee(l), &id).unwrap();
    }
    for l in 1..=3 {
        done(steps::round1(board, party.trustee(l), &id).unwrap());
    }
    for l in 1..=3 {
        done(steps::round2(board, party.trustee(l), &id).unwrap());
    }
    admin.finalize(&id).unwrap();
    let codes = party.dir.path().join(format!("{id}-voters.txt"));
    let mut rng = seeded(105);
    done(credentials::generate(board, &id, &party.ca, 2, None, &codes, &mut rng).unwrap());
    let refused = |admin: &A| match admin.open(&id) {
        Err(psephos_trustee::TrusteeError::Api { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (409, "wrong_state"))
        }
        other => panic!("open before t acknowledgements: {other:?}"),
    };
    refused(admin);
    done(steps::ack(board, party.trustee(3), &id).unwrap());
    refused(admin);
    done(steps::ack(board, party.trustee(1), &id).unwrap());
    admin.open(&id).unwrap();
}

/// Issue 4: trustee 5 registers but never shows up for round 1. Round 1
/// would wait for its commit forever; the administrator's close-commits
/// cuts commits off, the other four reveal and the ceremony goes on
/// without it as a dealer. Trustee 5 comes back later, is refused as a
/// dealer, but receives its key share and helps decrypt (SPEC.md §8.5.2).
pub fn trustee_that_never_commits_is_cut_off<B: BoardClient, A: Admin>(board: &B, admin: &A) {
    let mut party = Party::seeded(5, 106);
    let id = unique_id("no-show");
    admin.create(&id, &party.manifest(3)).unwrap();
    register_all(board, &mut party, &id);
    let api_status = |r: Result<Receipt>| match r {
        Err(psephos_trustee::TrusteeError::Api { status, code, .. }) => (status, code),
        other => panic!("expected a refusal, got {other:?}"),
    };
    // Two commits are fewer than t = 3: closing now could never give a key.
    for l in 1..=2 {
        waiting(
            steps::round1(board, party.trustee(l), &id).unwrap(),
            "or the administrator's close-commits",
        );
    }
    assert_eq!(api_status(admin.close_commits(&id)).0, 409);
    for (l, missing) in [(3, "trustees 4, 5"), (4, "trustee 5 ")] {
        waiting(
            steps::round1(board, party.trustee(l), &id).unwrap(),
            &format!("dkg_commit from {missing}"),
        );
    }
    check_receipt(board, &id, &admin.close_commits(&id).unwrap());
    assert_eq!(api_status(admin.close_commits(&id)).0, 409);
    let view = fetch_ceremony_view(board, &id).unwrap();
    assert!(view.ceremony().commits_closed.is_some());
    assert!(view.warnings.is_empty(), "{:?}", view.warnings);
    // A late commit is refused by the board.
    let late = party.trustees[4]
        .keys()
        .sign(
            &id,
            Payload::DkgCommit {
                trustee: 5,
                hash: [5; 32],
            },
        )
        .unwrap();
    assert!(board.post(&id, &late).is_err());
    // The four that committed reveal without waiting for trustee 5, and
    // round 2 does not wait for it either.
    for l in 1..=4 {
        let m = done(steps::round1(board, party.trustee(l), &id).unwrap());
        assert!(m.contains("revealed dkg_commitments"), "{m}");
    }
    for l in 1..=4 {
        let m = done(steps::round2(board, party.trustee(l), &id).unwrap());
        assert!(m.contains("accused: none"), "{m}");
    }
    // Trustee 5 comes back: too late to deal, but it checks the shares the
    // four dealt it, and receives its key share after finalize-keys.
    let err = steps::round1(board, party.trustee(5), &id).unwrap_err();
    assert!(
        err.to_string()
            .contains("round-1 commits were closed without trustee 5"),
        "{err}"
    );
    let m = done(steps::round2(board, party.trustee(5), &id).unwrap());
    assert!(m.contains("good shares from dealers 1, 2, 3, 4"), "{m}");
    let status = steps::status(board, &id, None).unwrap();
    assert!(
        status.contains("commits closed by the administrator"),
        "{status}"
    );
    admin.finalize(&id).unwrap();
    for l in 1..=5 {
        let m = done(steps::ack(board, party.trustee(l), &id).unwrap());
        assert!(m.contains("qualified dealers 1, 2, 3, 4"), "{m}");
    }
    let expected = credentials_and_ballots(board, admin, &party, &id);
    close_and_decrypt(board, admin, &mut party, &id, &[1, 3, 5], &expected);
}
