//! The WebAssembly build in headless Chromium (wasm-bindgen-test): the
//! same ballot, audit and receipt checks as natively (SPEC.md §13.2–§13.4),
//! with seeded randomness except for one ballot made with the browser's
//! own generator, the one the voting page uses. Run by
//! `voter-client/ci-browser.sh`.

#![cfg(target_arch = "wasm32")]
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{FakeBoard, ID};
use psephos_crypto::ballot::{verify_ballot, BallotContext};
use psephos_crypto::record::{Body, Payload, Post};
use psephos_voter::cast::{check_audit_code, PreparedBallot};
use psephos_voter::credential::Credential;
use psephos_voter::receipt::Receipt;
use psephos_voter::VoterError;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_core::OsRng;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn credential(seed: u64) -> Credential {
    Credential::from_key(ed25519_dalek::SigningKey::generate(
        &mut ChaCha20Rng::seed_from_u64(seed),
    ))
}

#[wasm_bindgen_test]
fn ballot_made_in_the_browser_verifies_and_its_audit_passes() {
    let board = FakeBoard::new();
    let e = board.election();
    let cred = credential(401);
    let choices = [vec![0, 1, 0, 0, 0], vec![5, 5, 0]];
    // Tests randomness itself: unseeded on purpose. The ballot is drawn
    // from the browser's generator (getrandom's `js` backend), as on the page.
    let ballot = PreparedBallot::new(&e, &cred, &choices, &mut OsRng).unwrap();
    let post: Post = serde_json::from_str(&ballot.post_json().unwrap()).unwrap();
    let Body {
        payload: Payload::Ballot(enc),
        ..
    } = post.open().unwrap()
    else {
        panic!("not a ballot");
    };
    let author = cred.public_key();
    let ctx = BallotContext {
        fingerprint: &e.fingerprint,
        pk: &e.pk,
        credential: &author,
    };
    verify_ballot(&ctx, e.contests(), &enc).unwrap();
    let report = check_audit_code(&e, &ballot.audit().unwrap().0).unwrap();
    assert!(report.to_text().contains("Mayor: BEN"));
}

#[wasm_bindgen_test]
fn receipt_is_checked_in_the_browser() {
    let mut board = FakeBoard::new();
    let e = board.election();
    let ballot = PreparedBallot::new(
        &e,
        &credential(402),
        &[vec![1, 0, 0, 0, 0], vec![0, 0, 0]],
        &mut ChaCha20Rng::seed_from_u64(403),
    )
    .unwrap();
    let answer = board.receive(&ballot.post_json().unwrap());
    let line = board.lines[answer.index as usize].clone();
    Receipt::accept(
        &e.board,
        &board.info.key,
        ID,
        ballot.body_text(),
        &answer,
        &line,
    )
    .unwrap();
}

#[wasm_bindgen_test]
fn a_joint_key_the_rules_refuse_is_refused_in_the_browser() {
    // Learning an honest election replays its ceremony: 3 dealers, t = 2
    // coefficient proofs each (SPEC.md §13.1).
    let mut board = FakeBoard::seeded(11);
    let start = js_sys::Date::now();
    let e = board.election();
    console_log!(
        "learn an election (3 trustees, t = 2): {:.1} ms",
        js_sys::Date::now() - start
    );
    assert_eq!(e.pk, board.pk());
    // The board rewrites PK, re-chains and re-signs: the rules refuse it.
    let Payload::JointKey {
        qualified,
        verification_keys,
        ..
    } = board.honest_joint_key()
    else {
        panic!("not a joint key");
    };
    let own = psephos_crypto::elgamal::SecretKey::random(&mut ChaCha20Rng::seed_from_u64(404))
        .public_key();
    let key = board.key.clone();
    let index = board.rewrite_last(
        &key,
        Payload::JointKey {
            qualified,
            public_key: own,
            verification_keys,
        },
    );
    match board.learn() {
        Err(VoterError::Rule {
            index: at,
            violation,
            ..
        }) => {
            assert_eq!(at, index);
            assert_eq!(
                violation.rule,
                psephos_crypto::election::Rule::JointKeyMismatch
            );
        }
        other => panic!("{other:?}"),
    }
}

#[wasm_bindgen_test]
fn encrypt_and_prove_a_five_option_vote_for_one_contest() {
    let ms = psephos_voter::wasm::bench_encrypt(20).unwrap();
    console_log!("encrypt + prove, 5 options, vote for 1: {ms:.2} ms");
    assert!(ms > 0.0);
}
