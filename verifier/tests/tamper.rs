//! The tamper corpus (SPEC.md §11): each test changes one thing in a valid
//! record and checks that the verifier fails it with the right check
//! named. Where the tamper is not about the chain, the hash chain and the
//! signed checkpoint are rebuilt (`TestRecord::rechain`) and bodies are
//! re-signed by their authors, so that V1, V2 and V11 hold and only the
//! intended check can catch it.

// Test helpers outside #[test] functions: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use curve25519_dalek::scalar::Scalar as DalekScalar;
use ed25519_dalek::SigningKey;
use psephos_crypto::ballot::ClaimProof;
use psephos_crypto::encoding::Scalar;
use psephos_crypto::log::merkle::{leaf_hash, Hash, MerkleTree};
use psephos_crypto::proofs::generator_g;
use psephos_crypto::record::{Entry, Payload};
use psephos_verifier::report::Report;
use psephos_verifier::testgen::{ElectionSpec, TestRecord};
use psephos_verifier::{verify_lines, CheckId, Mirror, VerifierError};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};

use CheckId::*;

/// 24 ballots by 20 voters: ballots 0–3 are superseded by revotes 20–23.
fn base() -> TestRecord {
    static BASE: OnceLock<TestRecord> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut spec = ElectionSpec::plurality(24);
        spec.voters = 20;
        spec.election = "tamper".into();
        let rec = TestRecord::generate(&spec).unwrap();
        let report = rec.verify().unwrap();
        assert!(report.passed, "{}", report.render_text());
        rec
    })
    .clone()
}

fn verify(rec: &TestRecord) -> Report {
    rec.verify().unwrap()
}

/// The record fails, and exactly the checks `expected` fail.
fn assert_fails_exactly(report: &Report, expected: &[CheckId]) {
    assert!(!report.passed, "{}", report.render_text());
    assert_eq!(report.failed_checks(), expected, "{}", report.render_text());
}

/// The record fails and `check` is among the failed checks, with a failure
/// at entry `index` if given.
fn assert_fails_with(report: &Report, check: CheckId, index: Option<u64>) {
    assert!(!report.passed, "{}", report.render_text());
    let c = report.check(check).unwrap();
    assert!(
        report.failed_checks().contains(&check),
        "{check} did not fail:\n{}",
        report.render_text()
    );
    if let Some(i) = index {
        assert!(
            c.failures.iter().any(|f| f.index == Some(i)),
            "{check} has no failure at entry {i}:\n{}",
            report.render_text()
        );
    }
}

/// `check` failed at entry `index` naming the state machine's `rule`
/// (`psephos_crypto::election::Rule`): the specific violation, not just a
/// failure.
fn assert_rule(report: &Report, check: CheckId, index: Option<u64>, rule: &str) {
    let c = report.check(check).unwrap();
    assert!(
        c.failures
            .iter()
            .any(|f| f.index == index && f.rule.as_deref() == Some(rule)),
        "{check} has no {rule} failure at {index:?}:\n{}",
        report.render_text()
    );
}

fn failure_mentions(report: &Report, check: CheckId, text: &str) -> bool {
    report
        .check(check)
        .unwrap()
        .failures
        .iter()
        .any(|f| f.message.contains(text))
}

fn position_of_type(rec: &TestRecord, kind: &str) -> usize {
    rec.find(kind)[0]
}

#[test]
fn flipped_byte_in_a_ballot_fails_signatures_v2() {
    let mut rec = base();
    let entry = rec.gen.ballots[0].entry as usize;
    // Flip one hex digit inside the first ciphertext's R: the body is still
    // JSON, but no longer the bytes the voter signed.
    let line = &rec.lines[entry];
    let at = line.find("\"R\":\"").unwrap() + 10;
    let mut bytes = line.clone().into_bytes();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    rec.lines[entry] = String::from_utf8(bytes).unwrap();
    rec.rechain().unwrap();
    let report = verify(&rec);
    assert_fails_exactly(&report, &[V2]);
    assert_fails_with(&report, V2, Some(entry as u64));
}

#[test]
fn changed_proof_scalar_fails_ballot_proofs_v6() {
    let mut rec = base();
    let plan = rec.gen.ballots[0].clone();
    let entry = plan.entry as usize;
    let mut body = rec.body(entry).unwrap();
    let Payload::Ballot(ballot) = &mut body.payload else {
        panic!("not a ballot")
    };
    let ClaimProof::Disjunctive(p) = &mut ballot.contests[0].option_proofs[0] else {
        panic!("plurality options use disjunctive proofs")
    };
    p.branches[0].z = Scalar::from_dalek(p.branches[0].z.inner() + DalekScalar::ONE);
    let voter = rec.gen.voters[plan.voter].clone();
    rec.set_body(entry, &body, &voter).unwrap();
    rec.rechain().unwrap();
    let report = verify(&rec);
    assert_fails_exactly(&report, &[V6]);
    assert_fails_with(&report, V6, Some(entry as u64));
}

#[test]
fn swapped_entries_fail_the_chain_v1() {
    let mut rec = base();
    let a = rec.gen.ballots[1].entry as usize;
    rec.lines.swap(a, a + 1);
    let report = verify(&rec);
    assert_fails_with(&report, V1, Some(a as u64));
    // The signed checkpoint no longer matches either.
    assert_fails_with(&report, V11, None);
}

#[test]
fn dropped_entry_fails_the_chain_v1() {
    let mut rec = base();
    let a = rec.gen.ballots[0].entry as usize;
    rec.lines.remove(a);
    let report = verify(&rec);
    assert_fails_with(&report, V1, Some(a as u64));
    assert!(failure_mentions(&report, V1, "expected index"));
    assert!(failure_mentions(&report, V11, "entries are missing"));
}

#[test]
fn ballot_copied_under_another_credential_fails_the_copy_check_v6() {
    let mut rec = base();
    // Ballot 5 is voter 5's counted ballot. Voter 19 re-encrypts the same
    // choices with the same randomness: identical ciphertexts, proofs valid
    // for voter 19's credential. Only the copy check can catch it.
    let original = rec.gen.ballots[5].clone();
    let thief = rec.gen.voters[19].clone();
    let copy = rec
        .gen
        .ballot_post(&thief, &original.choices, original.rng_seed)
        .unwrap();
    let close = position_of_type(&rec, "voting_closed");
    rec.insert(close, copy).unwrap();
    rec.rechain().unwrap();
    let report = verify(&rec);
    assert_fails_exactly(&report, &[V6]);
    assert_fails_with(&report, V6, Some(close as u64));
    assert_rule(&report, V6, Some(close as u64), "CiphertextReused");
    assert!(failure_mentions(
        &report,
        V6,
        &format!("the ballot at entry {}", original.entry)
    ));
}

#[test]
fn ballot_after_close_fails_the_voting_window_v6() {
    let mut rec = base();
    let voter = rec.gen.voters[3].clone();
    let late = rec
        .gen
        .ballot_post(&voter, &[vec![0, 0, 0, 0, 1]], [99; 32])
        .unwrap();
    let close = position_of_type(&rec, "voting_closed");
    rec.insert(close + 1, late).unwrap();
    rec.rechain().unwrap();
    let report = verify(&rec);
    assert_fails_exactly(&report, &[V6]);
    assert_fails_with(&report, V6, Some(close as u64 + 1));
    assert_rule(&report, V6, Some(close as u64 + 1), "ElectionNotOpen");
}

#[test]
fn ballot_before_voting_opened_fails_the_voting_window_v6() {
    let mut rec = base();
    let voter = rec.gen.voters[3].clone();
    let early = rec
        .gen
        .ballot_post(&voter, &[vec![1, 0, 0, 0, 0]], [98; 32])
        .unwrap();
    let open = position_of_type(&rec, "voting_opened");
    rec.insert(open, early).unwrap();
    rec.rechain().unwrap();
    let report = verify(&rec);
    assert_fails_exactly(&report, &[V6]);
    assert_rule(&report, V6, Some(open as u64), "ElectionNotOpen");
}

#[test]
fn ballot_from_unlisted_credential_fails_the_credential_check_v6() {
    let mut rec = base();
    let stranger = SigningKey::generate(&mut ChaCha20Rng::from_seed([5; 32]));
    let post = rec
        .gen
        .ballot_post(&stranger, &[vec![0, 1, 0, 0, 0]], [97; 32])
        .unwrap();
    let close = position_of_type(&rec, "voting_closed");
    rec.insert(close, post).unwrap();
    rec.rechain().unwrap();
    let report = verify(&rec);
    assert_fails_exactly(&report, &[V6]);
    assert_rule(&report, V6, Some(close as u64), "NotEligible");
}

#[test]
fn changed_result_count_fails_the_combination_v10() {
    let mut rec = base();
    let at = position_of_type(&rec, "result");
    let mut body = rec.body(at).unwrap();
    let Payload::Result { counts, .. } = &mut body.payload else {
        panic!("not a result")
    };
    counts[0][0] += 1;
    let board = rec.gen.board.clone();
    rec.set_body(at, &body, &board).unwrap();
    rec.rechain().unwrap();
    let report = verify(&rec);
    assert_fails_exactly(&report, &[V10]);
    assert_fails_with(&report, V10, Some(at as u64));
    assert!(report.result.is_none());
}

#[test]
fn changed_result_tally_fails_the_aggregation_v8() {
    let mut rec = base();
    let at = position_of_type(&rec, "result");
    let mut body = rec.body(at).unwrap();
    let Payload::Result { tally, .. } = &mut body.payload else {
        panic!("not a result")
    };
    tally[1].C = tally[1].C + *generator_g();
    let board = rec.gen.board.clone();
    rec.set_body(at, &body, &board).unwrap();
    rec.rechain().unwrap();
    let report = verify(&rec);
    assert_fails_exactly(&report, &[V8]);
}

#[test]
fn forged_partial_decryption_fails_v9() {
    let mut rec = base();
    let at = position_of_type(&rec, "partial_decryption");
    let mut body = rec.body(at).unwrap();
    let Payload::PartialDecryption { trustee, shares } = &mut body.payload else {
        panic!("not a partial decryption")
    };
    shares[0].D = shares[0].D + *generator_g();
    let key = rec.gen.trustee_keys[*trustee as usize - 1].clone();
    rec.set_body(at, &body, &key).unwrap();
    rec.rechain().unwrap();
    let report = verify(&rec);
    assert_fails_with(&report, V9, Some(at as u64));
    // The result combined this trustee's share, so it cannot verify either.
    assert_fails_exactly(&report, &[V9, V10]);
}

#[test]
fn broken_trustee_signature_fails_signatures_v2() {
    let mut rec = base();
    let at = position_of_type(&rec, "key_ack");
    let mut entry = Entry::from_line(&rec.lines[at]).unwrap();
    entry.signature.0[10] ^= 0x01;
    rec.lines[at] = entry.to_line().unwrap();
    rec.rechain().unwrap();
    let report = verify(&rec);
    assert_fails_exactly(&report, &[V2]);
    assert_fails_with(&report, V2, Some(at as u64));
}

#[test]
fn checkpoint_with_another_root_fails_v11() {
    let mut rec = base();
    let mut leaves: Vec<Hash> = rec.lines.iter().map(|l| leaf_hash(l.as_bytes())).collect();
    leaves[3] = [0xAB; 32];
    let forged = MerkleTree::from_leaves(leaves);
    rec.gen.checkpoint = rec
        .gen
        .sign_checkpoint(forged.len(), forged.root())
        .unwrap();
    let report = verify(&rec);
    assert_fails_exactly(&report, &[V11]);
}

#[test]
fn checkpoint_signed_by_another_key_fails_v11() {
    let mut rec = base();
    let impostor = SigningKey::generate(&mut ChaCha20Rng::from_seed([6; 32]));
    let mut other = rec.gen.clone();
    other.board = impostor;
    rec.gen.checkpoint = other
        .sign_checkpoint(rec.gen.entries, rec.gen.root)
        .unwrap();
    let report = verify(&rec);
    assert_fails_exactly(&report, &[V11]);
}

#[test]
fn record_without_checkpoint_is_skipped_and_fails_unless_allowed() {
    let rec = base();
    let mut opts = rec.options().unwrap();
    opts.checkpoint = None;
    let report = verify_lines(rec.lines.iter().map(String::as_str), opts);
    assert!(!report.passed);
    assert!(report.failed_checks().is_empty());
    assert_eq!(
        report.check(V11).unwrap().status,
        psephos_verifier::Status::Skipped
    );
    let mut opts = rec.options().unwrap();
    opts.checkpoint = None;
    opts.allow_unsigned = true;
    let report = verify_lines(rec.lines.iter().map(String::as_str), opts);
    assert!(report.passed, "{}", report.render_text());
    assert!(!report.warnings.is_empty());
}

#[test]
fn unpinned_board_key_uses_the_manifest_signer_and_warns() {
    let rec = base();
    let mut opts = rec.options().unwrap();
    opts.board_key = None;
    opts.board_origin = None;
    let report = verify_lines(rec.lines.iter().map(String::as_str), opts);
    assert!(report.passed, "{}", report.render_text());
    assert!(report.warnings.iter().any(|w| w.contains("not pinned")));
}

#[test]
fn manifest_signed_by_another_key_than_the_pinned_board_key_fails_v3() {
    let mut rec = base();
    let impostor = SigningKey::generate(&mut ChaCha20Rng::from_seed([8; 32]));
    let mut body = rec.body(0).unwrap();
    body.author = psephos_crypto::record::AuthorKey::of(&impostor);
    rec.set_body(0, &body, &impostor).unwrap();
    rec.rechain().unwrap();
    let report = verify(&rec);
    // Everything bound to the manifest hash changes with it as well.
    assert_fails_with(&report, V3, Some(0));
}

#[test]
fn wrong_verification_key_in_joint_key_fails_the_ceremony_v4() {
    let mut rec = base();
    let at = position_of_type(&rec, "joint_key");
    let mut body = rec.body(at).unwrap();
    let Payload::JointKey {
        verification_keys, ..
    } = &mut body.payload
    else {
        panic!("not a joint key")
    };
    verification_keys[1] = verification_keys[1] + *generator_g();
    let board = rec.gen.board.clone();
    rec.set_body(at, &body, &board).unwrap();
    rec.rechain().unwrap();
    let report = verify(&rec);
    assert_fails_exactly(&report, &[V4]);
    assert_rule(&report, V4, Some(at as u64), "JointKeyMismatch");
    assert!(failure_mentions(&report, V4, "[2]"));
}

#[test]
fn reveal_that_does_not_match_its_commit_fails_the_ceremony_v4() {
    let mut rec = base();
    let at = rec.find("dkg_commit")[0];
    let mut body = rec.body(at).unwrap();
    let Payload::DkgCommit { hash, .. } = &mut body.payload else {
        panic!("not a commit")
    };
    hash[0] ^= 1;
    let key = rec.gen.trustee_keys[0].clone();
    rec.set_body(at, &body, &key).unwrap();
    rec.rechain().unwrap();
    let report = verify(&rec);
    // Dealer 1's reveal is refused, so by the log the qualified set is
    // {2, 3}: the posted joint key and verification keys do not match it
    // (V4), and the trustees' partial decryptions, made with shares that
    // include dealer 1's, do not verify against the log's keys (V9, V10).
    assert_fails_with(&report, V4, Some(at as u64 + 3));
    assert!(failure_mentions(
        &report,
        V4,
        "not the hash trustee 1 committed to"
    ));
    assert_fails_exactly(&report, &[V4, V9, V10]);
}

#[test]
fn reveal_with_an_identity_ephemeral_key_fails_the_ceremony_v4() {
    // Dealer 2 reveals a share under E = identity (its key K = y·E would be
    // public), committed to honestly: only the reveal rule can catch it.
    let mut rec = base();
    let reveal = rec.find("dkg_commitments")[1];
    let commit = rec.find("dkg_commit")[1];
    let mut body = rec.body(reveal).unwrap();
    let Payload::DkgCommitments { shares, .. } = &mut body.payload else {
        panic!("not a reveal")
    };
    shares[0].ephemeral = psephos_crypto::encoding::Point::identity();
    let key = rec.gen.trustee_keys[1].clone();
    let post = psephos_crypto::record::Post::sign(&body, &key).unwrap();
    let hash: [u8; 32] = Sha256::digest(post.body_text().as_bytes()).into();
    rec.set_post(reveal, post).unwrap();
    let mut commit_body = rec.body(commit).unwrap();
    commit_body.payload = Payload::DkgCommit { trustee: 2, hash };
    rec.set_body(commit, &commit_body, &key).unwrap();
    rec.rechain().unwrap();
    let report = verify(&rec);
    assert_fails_with(&report, V4, Some(reveal as u64));
    assert!(failure_mentions(&report, V4, "ephemeral key"));
    assert!(!failure_mentions(&report, V4, "committed to"));
}

#[test]
fn credential_list_signed_by_someone_else_fails_v5() {
    let mut rec = base();
    let at = position_of_type(&rec, "credential_list");
    let mut body = rec.body(at).unwrap();
    let board = rec.gen.board.clone();
    body.author = psephos_crypto::record::AuthorKey::of(&board);
    rec.set_body(at, &body, &board).unwrap();
    rec.rechain().unwrap();
    let report = verify(&rec);
    assert_rule(&report, V5, Some(at as u64), "CredentialListAuthor");
}

#[test]
fn record_of_another_election_fails_v3() {
    let rec = base();
    let mut opts = rec.options().unwrap();
    opts.election = Some("someone-else".into());
    let report = verify_lines(rec.lines.iter().map(String::as_str), opts);
    assert_fails_exactly(&report, &[V3]);
}

/// A mirror that serves a fixed note and proofs from its own tree.
struct FakeMirror {
    note: String,
    tree: MerkleTree,
}

impl Mirror for FakeMirror {
    fn name(&self) -> String {
        "fake-mirror".into()
    }
    fn checkpoint(&self, _: &str) -> Result<String, VerifierError> {
        Ok(self.note.clone())
    }
    fn consistency(&self, _: &str, from: u64, to: u64) -> Result<Vec<Hash>, VerifierError> {
        self.tree
            .consistency_proof(from, to)
            .map_err(|e| VerifierError::Generate(e.to_string()))
    }
}

fn leaves(rec: &TestRecord) -> Vec<Hash> {
    rec.lines.iter().map(|l| leaf_hash(l.as_bytes())).collect()
}

#[test]
fn mirror_ahead_with_a_valid_consistency_proof_passes() {
    let rec = base();
    let mut more = leaves(&rec);
    more.extend([[1u8; 32], [2u8; 32], [3u8; 32]]);
    let tree = MerkleTree::from_leaves(more);
    let note = rec.gen.sign_checkpoint(tree.len(), tree.root()).unwrap();
    let mut opts = rec.options().unwrap();
    opts.mirrors.push(Box::new(FakeMirror { note, tree }));
    let report = verify_lines(rec.lines.iter().map(String::as_str), opts);
    assert!(report.passed, "{}", report.render_text());
    assert_eq!(report.check(V11).unwrap().checked, 2);
}

#[test]
fn mirror_showing_a_forked_history_fails_v11() {
    let rec = base();
    let mut forked = leaves(&rec);
    let last = forked.len() - 1;
    forked[last] = [9u8; 32];
    let tree = MerkleTree::from_leaves(forked);
    let note = rec.gen.sign_checkpoint(tree.len(), tree.root()).unwrap();
    let mut opts = rec.options().unwrap();
    opts.mirrors.push(Box::new(FakeMirror { note, tree }));
    let report = verify_lines(rec.lines.iter().map(String::as_str), opts);
    assert_fails_exactly(&report, &[V11]);
    assert!(failure_mentions(&report, V11, "EQUIVOCATION"));
}

#[test]
fn mirror_ahead_on_a_forked_history_fails_its_consistency_proof_v11() {
    let rec = base();
    let mut forked = leaves(&rec);
    forked[2] = [9u8; 32];
    forked.extend([[1u8; 32], [2u8; 32]]);
    let tree = MerkleTree::from_leaves(forked);
    let note = rec.gen.sign_checkpoint(tree.len(), tree.root()).unwrap();
    let mut opts = rec.options().unwrap();
    opts.mirrors.push(Box::new(FakeMirror { note, tree }));
    let report = verify_lines(rec.lines.iter().map(String::as_str), opts);
    assert_fails_exactly(&report, &[V11]);
    assert!(failure_mentions(&report, V11, "not shown to extend"));
}

/// A record where dealer 1 sends trustee 3 a bad share and trustee 3
/// complains: dealer 1 is disqualified.
fn with_complaint() -> TestRecord {
    static REC: OnceLock<TestRecord> = OnceLock::new();
    REC.get_or_init(|| {
        let mut spec = ElectionSpec::plurality(6);
        spec.voters = 5;
        spec.election = "complaint".into();
        spec.bad_dealer = Some((1, 3));
        spec.decrypting = vec![2, 3];
        let rec = TestRecord::generate(&spec).unwrap();
        assert!(rec.verify().unwrap().passed);
        rec
    })
    .clone()
}

#[test]
fn complaint_with_forged_evidence_fails_the_ceremony_v4() {
    let mut rec = with_complaint();
    let at = position_of_type(&rec, "dkg_complaint");
    let mut body = rec.body(at).unwrap();
    let Payload::DkgComplaint { shared_key, .. } = &mut body.payload else {
        panic!("not a complaint")
    };
    *shared_key = *shared_key + *generator_g();
    let key = rec.gen.trustee_keys[2].clone();
    rec.set_body(at, &body, &key).unwrap();
    rec.rechain().unwrap();
    let report = verify(&rec);
    assert_fails_with(&report, V4, Some(at as u64));
    assert!(failure_mentions(&report, V4, "evidence does not verify"));
    // Without a founded complaint dealer 1 stays qualified, so the posted
    // qualified set {2, 3} no longer matches the log either.
    assert!(failure_mentions(
        &report,
        V4,
        "qualified dealers are [2, 3]"
    ));
}

#[test]
fn unfounded_complaint_is_noted_and_changes_nothing() {
    // Trustee 2 complains, with genuine evidence, about dealer 3's share,
    // which is good: the complaint is unfounded, nobody is disqualified.
    let mut rec = base();
    let reveal = rec.find("dkg_commitments")[2];
    let Payload::DkgCommitments { shares, .. } = rec.body(reveal).unwrap().payload else {
        panic!("not a reveal")
    };
    let share = shares.iter().find(|s| s.to == 2).unwrap().clone();
    let fp = psephos_crypto::Fingerprint::ceremony(&leaf_hash(rec.lines[0].as_bytes()));
    let evidence = psephos_crypto::share_encryption::make_complaint(
        &fp,
        3,
        2,
        &rec.gen.encryption_keys[1],
        &share.ephemeral,
        &mut ChaCha20Rng::from_seed([4; 32]),
    );
    let complaint = psephos_crypto::record::Body {
        election: rec.gen.spec.election.clone(),
        author: psephos_crypto::record::AuthorKey::of(&rec.gen.trustee_keys[1]),
        payload: Payload::DkgComplaint {
            trustee: 2,
            dealer: 3,
            shared_key: evidence.shared_key,
            proof: evidence.proof,
        },
    };
    let key = rec.gen.trustee_keys[1].clone();
    let post = psephos_crypto::record::Post::sign(&complaint, &key).unwrap();
    let joint = position_of_type(&rec, "joint_key");
    rec.insert(joint, post).unwrap();
    rec.rechain().unwrap();
    let report = verify(&rec);
    assert!(report.passed, "{}", report.render_text());
    let v4 = report.check(V4).unwrap();
    assert!(v4.notes.iter().any(|n| n.contains("unfounded")), "{v4:?}");

    // The same complaint with its evidence broken is a failure.
    let mut broken = base();
    let mut complaint = complaint;
    if let Payload::DkgComplaint { proof, .. } = &mut complaint.payload {
        proof.z = Scalar::from_dalek(proof.z.inner() + DalekScalar::ONE);
    }
    let post = psephos_crypto::record::Post::sign(&complaint, &key).unwrap();
    broken.insert(joint, post).unwrap();
    broken.rechain().unwrap();
    let report = verify(&broken);
    assert_fails_exactly(&report, &[V4]);
    assert!(failure_mentions(&report, V4, "evidence does not verify"));
}

/// A record where trustee 3 of 4 never committed and the board closed
/// commits (SPEC.md §8.5.2).
fn with_closed_commits() -> TestRecord {
    static REC: OnceLock<TestRecord> = OnceLock::new();
    REC.get_or_init(|| {
        let mut spec = ElectionSpec::plurality(6);
        spec.voters = 5;
        spec.election = "no-show".into();
        spec.trustees = 4;
        spec.absent_dealer = Some(3);
        let rec = TestRecord::generate(&spec).unwrap();
        assert!(rec.verify().unwrap().passed);
        rec
    })
    .clone()
}

#[test]
fn commit_after_the_board_closed_commits_fails_the_ceremony_v4() {
    let mut rec = with_closed_commits();
    let close = position_of_type(&rec, "dkg_commits_closed");
    let key = rec.gen.trustee_keys[2].clone();
    let late = psephos_crypto::record::Post::sign(
        &psephos_crypto::record::Body {
            election: rec.gen.spec.election.clone(),
            author: psephos_crypto::record::AuthorKey::of(&key),
            payload: Payload::DkgCommit {
                trustee: 3,
                hash: [3; 32],
            },
        },
        &key,
    )
    .unwrap();
    rec.insert(close + 1, late).unwrap();
    rec.rechain().unwrap();
    let report = verify(&rec);
    assert_fails_exactly(&report, &[V4]);
    assert_fails_with(&report, V4, Some(close as u64 + 1));
    assert_rule(&report, V4, Some(close as u64 + 1), "CommitAfterClose");
}

#[test]
fn commits_closed_although_every_trustee_committed_fails_the_ceremony_v4() {
    let mut rec = base();
    let at = *rec.find("dkg_commit").last().unwrap() + 1;
    let board = rec.gen.board.clone();
    let close = psephos_crypto::record::Post::sign(
        &psephos_crypto::record::Body {
            election: rec.gen.spec.election.clone(),
            author: psephos_crypto::record::AuthorKey::of(&board),
            payload: Payload::DkgCommitsClosed {},
        },
        &board,
    )
    .unwrap();
    rec.insert(at, close).unwrap();
    rec.rechain().unwrap();
    let report = verify(&rec);
    assert_fails_exactly(&report, &[V4]);
    assert_fails_with(&report, V4, Some(at as u64));
    assert_rule(&report, V4, Some(at as u64), "CommitsCloseNotAllowed");
}
