//! SPEC.md §14.2: trustees refuse a forked or rewritten log, and before
//! decrypting wait for a checkpoint over `voting_closed` cosigned by the
//! manifest's witnesses (§14.1). All on in-memory boards; a "fork" is a
//! second memory board holding the same key.

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{done, waiting, Admin, Party};
use ed25519_dalek::SigningKey;
use psephos_crypto::log::checkpoint::{
    add_cosignature, sign_checkpoint, Checkpoint, Cosigner, NoteSigner, NoteVerifier,
};
use psephos_crypto::log::evidence::{Evidence, EvidenceKind};
use psephos_crypto::log::merkle::{leaf_hash, MerkleTree};
use psephos_crypto::record::{Entry, Manifest, Post};
use psephos_crypto::wire::{Created, Receipt};
use psephos_crypto::witness::Witness;
use psephos_trustee::board::{BoardClient, BoardInfo, ElectionStatus, EntryPage};
use psephos_trustee::keyfile::{read_plaintext, write_plaintext, Passphrase};
use psephos_trustee::log_memory::evidence_path;
use psephos_trustee::memory_board::{MemoryBoard, ORIGIN};
use psephos_trustee::state::TrusteeKeyFile;
use psephos_trustee::steps;
use psephos_trustee::{Result, TrusteeError};
use rand_core::RngCore;

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

fn board_key(seed: u64) -> SigningKey {
    let mut b = [0u8; 32];
    common::seeded(seed).fill_bytes(&mut b);
    SigningKey::from_bytes(&b)
}

/// An election with credentials and six ballots on `board`, ceremony done.
fn voted(board: &MemoryBoard, party: &mut Party, manifest: &Manifest, id: &str) -> Vec<Vec<u64>> {
    board.create(id, manifest).unwrap();
    common::honest_ceremony(board, board, party, id);
    common::credentials_and_ballots(board, board, party, id)
}

/// A second board with `real`'s key and its first `n` entries.
fn fork_of(
    real: &MemoryBoard,
    key: &SigningKey,
    id: &str,
    manifest: &Manifest,
    n: usize,
) -> MemoryBoard {
    let fork = MemoryBoard::with_key(key.clone());
    fork.create_election(id, manifest).unwrap();
    let lines = real.lines(id).unwrap();
    for line in &lines[1..n] {
        let e = Entry::from_line(line).unwrap();
        fork.append_unchecked(
            id,
            Post {
                body: e.body,
                signature: e.signature,
            },
        )
        .unwrap();
    }
    assert_eq!(
        fork.lines(id).unwrap(),
        lines[..n].to_vec(),
        "identical history"
    );
    fork
}

fn first_ballot(board: &MemoryBoard, id: &str) -> usize {
    board
        .lines(id)
        .unwrap()
        .iter()
        .position(|l| l.contains(r#""type":"ballot""#))
        .unwrap()
}

/// The issue's attack: the election is closed on a fork right after voter
/// 1's ballot, a trustee decrypts there; on the real board the same key
/// file refuses, writes the evidence, posts nothing; the other trustees
/// still complete the honest election.
#[test]
fn a_trustee_that_decrypted_on_a_fork_refuses_the_real_board_with_evidence() {
    let key = board_key(31);
    let real = MemoryBoard::with_key(key.clone());
    let mut party = Party::seeded(3, 32);
    let manifest = party.manifest(2);
    let id = "fork-attack";
    let expected = voted(&real, &mut party, &manifest, id);
    let fork = fork_of(&real, &key, id, &manifest, first_ballot(&real, id) + 1);
    fork.close(id).unwrap();
    let m = done(steps::decrypt(&fork, party.trustee(1), id).unwrap());
    assert!(
        m.contains("partial decryption of 3 tally ciphertexts over 1 counted"),
        "{m}"
    );

    real.close(id).unwrap();
    let before = real.lines(id).unwrap().len();
    let err = steps::decrypt(&real, party.trustee(1), id).unwrap_err();
    let TrusteeError::Equivocation { evidence_file, .. } = &err else {
        panic!("expected equivocation, got {err:?}")
    };
    assert!(err.is_board_caught());
    assert_eq!(*evidence_file, evidence_path(party.trustee(1).path(), id));
    let evidence: Evidence =
        serde_json::from_slice(&std::fs::read(evidence_file).unwrap()).unwrap();
    evidence.verify().unwrap();
    assert_eq!(evidence.kind, EvidenceKind::PrefixMismatch);
    assert_eq!(evidence.board_key, real.board_info().unwrap().key);
    assert_eq!(real.lines(id).unwrap().len(), before, "nothing posted");
    // Running it again refuses again.
    assert!(steps::decrypt(&real, party.trustee(1), id)
        .unwrap_err()
        .is_board_caught());

    for l in [2, 3] {
        done(steps::decrypt(&real, party.trustee(l), id).unwrap());
    }
    let (view, _) = steps::recompute_tally(&real, id).unwrap();
    let result = view.election().published().unwrap();
    assert_eq!(result.counts, expected);
    assert_eq!(result.trustees, vec![2, 3]);
}

/// A fork of the same size as the checkpoint held: `same_size` evidence;
/// a log shorter than the checkpoint held: a rollback.
#[test]
fn same_size_fork_and_rollback_are_refused() {
    let key = board_key(41);
    let real = MemoryBoard::with_key(key.clone());
    let mut party = Party::seeded(3, 42);
    let manifest = party.manifest(2);
    let id = "fork-same-size";
    voted(&real, &mut party, &manifest, id);
    let n = real.lines(id).unwrap().len();
    // Trustee 1 reads the open election (size n) and keeps its checkpoint.
    waiting(
        steps::decrypt(&real, party.trustee(1), id).unwrap(),
        "voting_closed",
    );
    // Same size, other history: the fork drops the last ballot for a close.
    let fork = fork_of(&real, &key, id, &manifest, n - 1);
    fork.close(id).unwrap();
    let err = steps::decrypt(&fork, party.trustee(1), id).unwrap_err();
    let TrusteeError::Equivocation { evidence_file, .. } = &err else {
        panic!("expected equivocation, got {err:?}")
    };
    let evidence: Evidence =
        serde_json::from_slice(&std::fs::read(evidence_file).unwrap()).unwrap();
    evidence.verify().unwrap();
    assert_eq!(evidence.kind, EvidenceKind::SameSize);
    // Shorter: rollback.
    let short = fork_of(&real, &key, id, &manifest, n - 2);
    match steps::decrypt(&short, party.trustee(1), id) {
        Err(TrusteeError::Rollback { held, served, .. }) => {
            assert_eq!((held, served), (n as u64, n as u64 - 2))
        }
        other => panic!("expected rollback, got {other:?}"),
    }
}

/// Decrypting the same tally twice is fine; another tally is refused,
/// even when the key file lost its checkpoint (an old key file).
#[test]
fn a_second_tally_is_refused_and_the_same_one_is_idempotent() {
    let key = board_key(51);
    let real = MemoryBoard::with_key(key.clone());
    let mut party = Party::seeded(3, 52);
    let manifest = party.manifest(2);
    let id = "fork-tally";
    voted(&real, &mut party, &manifest, id);
    let fork = fork_of(&real, &key, id, &manifest, first_ballot(&real, id) + 1);
    fork.close(id).unwrap();
    done(steps::decrypt(&fork, party.trustee(1), id).unwrap());
    let again = done(steps::decrypt(&fork, party.trustee(1), id).unwrap());
    assert!(again.contains("already posted"), "{again}");
    // Saving a stage keeps the memory (SPEC.md §8.5.6).
    let file = party.trustee(1);
    let (cp, tally) = (
        file.checkpoint(id).map(str::to_owned),
        file.decrypted_tally(id).map(str::to_owned),
    );
    assert!(cp.is_some() && tally.is_some());
    let stage = file.stage(id).unwrap().unwrap();
    file.save_stage(&stage).unwrap();
    assert_eq!(file.checkpoint(id), cp.as_deref());
    assert_eq!(file.decrypted_tally(id), tally.as_deref());

    // Drop the checkpoint from the key file, as a key file written before
    // SPEC.md §14.2 would lack it, keeping the tally hash.
    let path = party.trustee(1).path().to_owned();
    let pass = Passphrase::new("passphrase 1");
    let plain = read_plaintext(&path, &pass).unwrap();
    let mut json: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    let e = json["elections"][id].as_object_mut().unwrap();
    assert!(e.contains_key("decrypted_tally"));
    assert!(e.remove("checkpoint").is_some());
    write_plaintext(
        &path,
        &pass,
        common::WORK,
        &serde_json::to_vec(&json).unwrap(),
        false,
    )
    .unwrap();
    let mut reopened = TrusteeKeyFile::open(&path, pass, common::WORK).unwrap();
    assert!(reopened.checkpoint(id).is_none());

    real.close(id).unwrap();
    let before = real.lines(id).unwrap().len();
    match steps::decrypt(&real, &mut reopened, id) {
        Err(e @ TrusteeError::TallyChanged { .. }) => assert!(e.is_board_caught()),
        other => panic!("expected a refused second tally, got {other:?}"),
    }
    assert_eq!(real.lines(id).unwrap().len(), before, "nothing posted");
}

/// A stand-in board whose status serves another checkpoint note.
struct Served<'a> {
    inner: &'a MemoryBoard,
    note: Box<dyn Fn(String) -> String + 'a>,
}

impl BoardClient for Served<'_> {
    fn board_info(&self) -> Result<BoardInfo> {
        self.inner.board_info()
    }
    fn status(&self, election: &str) -> Result<ElectionStatus> {
        let mut s = self.inner.status(election)?;
        s.checkpoint = (self.note)(s.checkpoint);
        Ok(s)
    }
    fn entries(&self, election: &str, start: u64, end: u64) -> Result<EntryPage> {
        self.inner.entries(election, start, end)
    }
    fn post(&self, election: &str, post: &Post) -> Result<Receipt> {
        self.inner.post(election, post)
    }
}

/// SPEC.md §14.2: no decryption before a board-signed checkpoint covers
/// `voting_closed`.
#[test]
fn decrypt_waits_for_a_checkpoint_covering_voting_closed() {
    let key = board_key(61);
    let board = MemoryBoard::with_key(key.clone());
    let mut party = Party::seeded(3, 62);
    let manifest = party.manifest(2);
    let id = "lagging";
    voted(&board, &mut party, &manifest, id);
    board.close(id).unwrap();
    let lines = board.lines(id).unwrap();
    let n = lines.len() - 1; // without voting_closed
    let tree =
        MerkleTree::from_leaves(lines[..n].iter().map(|l| leaf_hash(l.as_bytes())).collect());
    let signer = NoteSigner::new(ORIGIN, key).unwrap();
    let note = sign_checkpoint(
        &Checkpoint {
            origin: format!("{ORIGIN}/{id}"),
            size: n as u64,
            root: tree.root(),
        },
        &signer,
    )
    .unwrap();
    let lagging = Served {
        inner: &board,
        note: Box::new(move |_| note.clone()),
    };
    waiting(
        steps::decrypt(&lagging, party.trustee(1), id).unwrap(),
        "checkpoint covering voting_closed",
    );
    assert!(board.status(id).unwrap().decrypted.is_empty());
    done(steps::decrypt(&board, party.trustee(1), id).unwrap());
}

/// SPEC.md §14.1, §14.2: with a witness quorum, decrypt waits until the
/// checkpoint over `voting_closed` carries k witness cosignatures.
#[test]
fn decrypt_waits_for_the_witness_quorum() {
    let key = board_key(71);
    let board = MemoryBoard::with_key(key.clone());
    let mut party = Party::seeded(3, 72);
    let w_key = board_key(73);
    let cosigner = Cosigner::new("witness-1", w_key).unwrap();
    let mut manifest = party.manifest(2);
    manifest.witnesses = vec![Witness {
        name: "witness-1".into(),
        key: cosigner.verifier().to_vkey(),
        // Nothing listens here: the witness is only reached through the
        // cosignature the board serves.
        url: "http://127.0.0.1:9".into(),
    }];
    manifest.witness_quorum = 1;
    let id = "witnessed";
    let expected = voted(&board, &mut party, &manifest, id);
    board.close(id).unwrap();
    let o = steps::decrypt(&board, party.trustee(1), id).unwrap();
    waiting(o.clone(), "not yet: witness-1");
    waiting(o, "cosigned: none");
    let verifier = NoteVerifier::from_vkey(&board.board_info().unwrap().key).unwrap();
    let cosigned = Served {
        inner: &board,
        note: Box::new(move |note| {
            add_cosignature(&note, &verifier, &cosigner, 1_700_000_000).unwrap()
        }),
    };
    for l in [1, 2] {
        done(steps::decrypt(&cosigned, party.trustee(l), id).unwrap());
    }
    let (view, _) = steps::recompute_tally(&board, id).unwrap();
    assert_eq!(view.election().published().unwrap().counts, expected);
}

/// SPEC.md §10.5: a tally of fewer counted credentials than min_counted is
/// never decrypted.
#[test]
fn a_tally_below_min_counted_is_refused() {
    let board = MemoryBoard::new();
    let mut party = Party::seeded(3, 82);
    let mut manifest = party.manifest(2);
    manifest.min_counted = Some(100);
    let id = "too-few";
    voted(&board, &mut party, &manifest, id);
    board.close(id).unwrap();
    match steps::decrypt(&board, party.trustee(1), id) {
        Err(TrusteeError::TooFewCounted { counted, min }) => assert_eq!((counted, min), (5, 100)),
        other => panic!("expected too few counted, got {other:?}"),
    }
}

/// Answer every HTTP request on `listener` with `body` (a witness's
/// `GET …/checkpoint`), in a thread.
fn serve_note(listener: std::net::TcpListener, body: String) {
    use std::io::{Read, Write};
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
}

/// SPEC.md §14.1: each witness serves the board's note with its own
/// cosignature; copies of one checkpoint add up to the quorum (k = 2:
/// witness-1's cosignature on the note the board serves, witness-2's on
/// the note witness-2 serves).
#[test]
fn cosignatures_on_copies_of_one_checkpoint_add_up() {
    let key = board_key(91);
    let board = MemoryBoard::with_key(key);
    let mut party = Party::seeded(3, 92);
    let c1 = Cosigner::new("witness-1", board_key(93)).unwrap();
    let c2 = Cosigner::new("witness-2", board_key(94)).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut manifest = party.manifest(2);
    manifest.witnesses = vec![
        Witness {
            name: "witness-1".into(),
            key: c1.verifier().to_vkey(),
            url: "http://127.0.0.1:9".into(),
        },
        Witness {
            name: "witness-2".into(),
            key: c2.verifier().to_vkey(),
            url: format!("http://{}", listener.local_addr().unwrap()),
        },
    ];
    manifest.witness_quorum = 2;
    let id = "two-witnesses";
    let expected = voted(&board, &mut party, &manifest, id);
    board.close(id).unwrap();
    let verifier = NoteVerifier::from_vkey(&board.board_info().unwrap().key).unwrap();
    let v1 = verifier.clone();
    let cosigned = Served {
        inner: &board,
        note: Box::new(move |n| add_cosignature(&n, &v1, &c1, 1_700_000_000).unwrap()),
    };
    // witness-2 does not answer yet: one of two.
    let o = steps::decrypt(&cosigned, party.trustee(1), id).unwrap();
    waiting(o, "not yet: witness-2");
    // witness-2 serves the same checkpoint with its own cosignature.
    let note = board.status(id).unwrap().checkpoint;
    serve_note(
        listener,
        add_cosignature(&note, &verifier, &c2, 1_700_000_000).unwrap(),
    );
    for l in [1, 2] {
        done(steps::decrypt(&cosigned, party.trustee(l), id).unwrap());
    }
    let (view, _) = steps::recompute_tally(&board, id).unwrap();
    assert_eq!(view.election().published().unwrap().counts, expected);
}
