//! The rules of the one state machine (SPEC.md §10.3–§10.5, §11.14) as the
//! board answers them over HTTP: each case a post that breaks one rule,
//! refused with that rule's status and code, on SQLite and PostgreSQL.
//! The same rules are run against the state machine and the verifier in
//! `verifier/tests/rules.rs`; the cases here are the ones only a live
//! board can show (non-canonical bodies, requests, order in time).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use psephos_board::testkit::{sign, ApiError, SimElection, TestBoard};
use psephos_crypto::record::{
    AuthorKey, CredentialEntry, Payload, Post, DEFAULT_MAX_BALLOTS_PER_CREDENTIAL,
};
use serde_json::json;

on_both_backends!(
    bodies_in_any_other_byte_form_are_refused,
    credential_list_rules_are_enforced,
    acknowledgements_and_decryptions_keep_their_place,
    manifest_caps_and_the_election_id_are_enforced,
    revotes_stop_at_the_credential_cap,
    a_ballot_after_the_close_is_refused_before_its_proofs,
);

fn expect_err<T: std::fmt::Debug>(r: Result<T, ApiError>, status: u16, code: &str) {
    match r {
        Ok(v) => panic!("expected {status} {code}, got success {v:?}"),
        Err(e) => assert_eq!((e.status, e.body.error.as_str()), (status, code), "{e}"),
    }
}

/// A post whose body is `text` verbatim, signed by `key`.
fn signed_text(text: String, key: &ed25519_dalek::SigningKey) -> Post {
    Post::sign_text(text, key).unwrap()
}

/// SPEC.md §9.1.1: one byte form per body; a ballot re-spaced, an escaped
/// id, an unknown field are refused before anything else.
async fn bodies_in_any_other_byte_form_are_refused(board: &TestBoard) {
    let client = board.client();
    let id = "canonical";
    let mut e = SimElection::new(id, 1, 1, 3, 2);
    e.setup_and_open(&client).await.unwrap();
    let good = e.ballot(0, &[vec![0, 1, 0]]).unwrap();
    let text = good.body_text().to_owned();
    let voter = &e.voters[0];
    for variant in [
        text.replacen(":", ": ", 1),
        text.replacen(r#""canonical""#, r#""\u0063anonical""#, 1),
    ] {
        expect_err(
            client.post(id, &signed_text(variant, voter)).await.unwrap(),
            400,
            "non_canonical_body",
        );
    }
    // An unknown field in a trustee's post (nothing can be smuggled past
    // the roles that would silently drop it).
    let t1 = e.trustee(1).unwrap();
    let ack = sign(
        id,
        &t1.key,
        Payload::KeyAck {
            trustee: 1,
            public_key: e.pk.unwrap(),
        },
    )
    .unwrap();
    let extra = ack
        .body_text()
        .replacen(r#""trustee":1"#, r#""trustee":1,"winner":"x""#, 1);
    let r = client.post(id, &signed_text(extra, &t1.key)).await.unwrap();
    match r {
        Err(e) => assert!(
            e.status == 400
                && (e.body.error == "non_canonical_body" || e.body.error == "malformed_body"),
            "{e}"
        ),
        Ok(v) => panic!("an unknown field was accepted: {v:?}"),
    }
    // The canonical ballot still goes in, once.
    client.post_ok(id, &good).await.unwrap();
    assert_eq!(client.status(id).await.unwrap()["ballots"], 1);
}

/// SPEC.md §10.3 rule 7: the list's author, content and uniqueness.
async fn credential_list_rules_are_enforced(board: &TestBoard) {
    let client = board.client();
    let id = "credentials";
    let mut e = SimElection::new(id, 1, 1, 2, 2);
    e.create(&client).await.unwrap();
    e.ceremony(&client).await.unwrap();
    let list = |credentials: Vec<CredentialEntry>| {
        sign(id, &e.authority, Payload::CredentialList { credentials }).unwrap()
    };
    let voter = |k: usize, weight: u64| CredentialEntry {
        key: AuthorKey::of(&e.voters[k]),
        weight,
    };
    // The Ed25519 identity (small order): verify_strict would refuse every
    // signature under it, and it must not be listed either.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    for (credentials, why) in [
        (vec![], "empty"),
        (
            vec![voter(0, 1), voter(1, (1 << 20) + 1)],
            "weight above 2^20",
        ),
        (vec![voter(0, 0)], "weight 0"),
        (vec![voter(0, 1), voter(0, 1)], "a key twice"),
        (
            vec![
                voter(0, 1),
                CredentialEntry {
                    key: AuthorKey(identity),
                    weight: 1,
                },
            ],
            "small-order key",
        ),
    ] {
        let r = client.post(id, &list(credentials)).await.unwrap();
        match r {
            Err(err) => assert_eq!(
                (err.status, err.body.error.as_str()),
                (422, "invalid_credentials"),
                "{why}: {err}"
            ),
            Ok(v) => panic!("{why}: accepted {v:?}"),
        }
    }
    // Signed by a trustee instead of the credential authority.
    let by_trustee = sign(
        id,
        &e.trustee(1).unwrap().key,
        Payload::CredentialList {
            credentials: vec![voter(0, 1)],
        },
    )
    .unwrap();
    expect_err(
        client.post(id, &by_trustee).await.unwrap(),
        403,
        "wrong_author",
    );
    client
        .post_ok(id, &list(vec![voter(0, 1), voter(1, 1 << 20)]))
        .await
        .unwrap();
    expect_err(
        client.post(id, &list(vec![voter(0, 1)])).await.unwrap(),
        409,
        "duplicate",
    );
}

/// SPEC.md §10.3 rule 6 and §10.5: no acknowledgement once voting is open;
/// one partial decryption per trustee, none after the result.
async fn acknowledgements_and_decryptions_keep_their_place(board: &TestBoard) {
    let client = board.client();
    let id = "order";
    let mut e = SimElection::new(id, 3, 2, 2, 3);
    e.setup_and_open(&client).await.unwrap();
    let late_ack = sign(
        id,
        &e.trustee(3).unwrap().key,
        Payload::KeyAck {
            trustee: 3,
            public_key: e.pk.unwrap(),
        },
    )
    .unwrap();
    expect_err(
        client.post(id, &late_ack).await.unwrap(),
        409,
        "wrong_state",
    );
    e.cast(&client, 0, &[vec![1, 0]]).await.unwrap();
    e.cast(&client, 1, &[vec![0, 1]]).await.unwrap();
    client.admin(id, "close", json!({})).await.unwrap().unwrap();
    let p1 = e.partial_decryption(&client, 1).await.unwrap();
    client.post_ok(id, &p1).await.unwrap();
    // The same trustee again (a fresh proof, same shares).
    let again = e.partial_decryption(&client, 1).await.unwrap();
    expect_err(client.post(id, &again).await.unwrap(), 409, "duplicate");
    let p2 = e.partial_decryption(&client, 2).await.unwrap();
    client.post_ok(id, &p2).await.unwrap();
    let st = client.status(id).await.unwrap();
    assert_eq!(st["state"], "tallied");
    assert_eq!(st["result"], json!([[1, 1]]));
    // After the result no partial decryption counts.
    let p3 = e.partial_decryption(&client, 3).await.unwrap();
    expect_err(client.post(id, &p3).await.unwrap(), 409, "wrong_state");
}

/// SPEC.md §10.7: the manifest caps and the id pattern, at creation.
async fn manifest_caps_and_the_election_id_are_enforced(board: &TestBoard) {
    let client = board.client();
    let e = SimElection::new("caps", 2, 2, 2, 1);
    let mut long = e.manifest.clone();
    long.title = "x".repeat(1_001);
    let mut no_contest = e.manifest.clone();
    no_contest.contests.clear();
    let mut threshold = e.manifest.clone();
    threshold.threshold = 3;
    for (m, why) in [
        (long, "a 1,001-byte title"),
        (no_contest, "no contest"),
        (threshold, "t > n"),
    ] {
        let r = client.create_election("caps", &m).await.unwrap();
        match r {
            Err(err) => assert_eq!(
                (err.status, err.body.error.as_str()),
                (422, "invalid_manifest"),
                "{why}: {err}"
            ),
            Ok(v) => panic!("{why}: accepted {v:?}"),
        }
    }
    let r = client
        .create_election("Caps_2026", &e.manifest)
        .await
        .unwrap();
    expect_err(r, 400, "invalid_id");
    client
        .create_election("caps", &e.manifest)
        .await
        .unwrap()
        .unwrap();
}

/// SPEC.md §10.4 rule 7 (issue 13): a credential's ballots stop at the
/// manifest's `max_ballots_per_credential` — the default 5 when it names
/// none, or its own number. The cap-th ballot is accepted (and counts), the
/// next one is refused with 409 `too_many_ballots`; other credentials are
/// not affected.
async fn revotes_stop_at_the_credential_cap(board: &TestBoard) {
    let client = board.client();
    for (id, cap) in [("revote-cap", None), ("revote-cap-2", Some(2))] {
        let mut e = SimElection::new(id, 1, 1, 3, 2);
        e.manifest.max_ballots_per_credential = cap;
        e.setup_and_open(&client).await.unwrap();
        let cap = cap.unwrap_or(DEFAULT_MAX_BALLOTS_PER_CREDENTIAL);
        let mut last = None;
        for k in 0..cap {
            let choice = vec![
                (k % 3 == 0) as u64,
                (k % 3 == 1) as u64,
                (k % 3 == 2) as u64,
            ];
            last = Some(e.cast(&client, 0, &[choice]).await.unwrap().index);
        }
        let status = client.status(id).await.unwrap();
        assert_eq!(status["ballots"], cap, "{id}");
        let over = e.ballot(0, &[vec![1, 0, 0]]).unwrap();
        let r = client.post(id, &over).await.unwrap();
        match r {
            Err(err) => {
                assert_eq!(
                    (err.status, err.body.error.as_str()),
                    (409, "too_many_ballots"),
                    "{id}: {err}"
                );
                assert!(
                    err.body
                        .message
                        .contains(&format!("max_ballots_per_credential is {cap}")),
                    "{id}: {err}"
                );
            }
            Ok(v) => panic!("{id}: ballot {} of one credential accepted: {v:?}", cap + 1),
        }
        // Nothing was appended; the cap-th ballot is still the counted one.
        let status = client.status(id).await.unwrap();
        assert_eq!(status["ballots"], cap, "{id}");
        assert_eq!(status["size"], last.unwrap() + 1, "{id}");
        // Another credential still votes.
        e.cast(&client, 1, &[vec![0, 1, 0]]).await.unwrap();
    }
    // A cap outside 1..=100 is not a valid manifest (SPEC.md §10.7).
    for cap in [0, 101] {
        let mut e = SimElection::new("revote-cap-bad", 1, 1, 3, 1);
        e.manifest.max_ballots_per_credential = Some(cap);
        let r = client
            .create_election("revote-cap-bad", &e.manifest)
            .await
            .unwrap();
        expect_err(r, 422, "invalid_manifest");
    }
}

/// SPEC.md §10.4 rule 1 (issue 13): once voting has closed a ballot is
/// refused with 409 `election_not_open` before its proofs are looked at —
/// one whose proof does not verify too (it got 422 `invalid_proof` while
/// the board still held the ballot parameters cached from before the close).
async fn a_ballot_after_the_close_is_refused_before_its_proofs(board: &TestBoard) {
    let client = board.client();
    let id = "late-proof";
    let mut e = SimElection::new(id, 1, 1, 3, 3);
    e.setup_and_open(&client).await.unwrap();
    // A ballot whose option proofs are swapped: well-formed, but its
    // proofs do not verify.
    let broken = |v: usize| {
        let post = e.ballot(v, &[vec![1, 0, 0]]).unwrap();
        let mut body = post.open().unwrap();
        let Payload::Ballot(ballot) = &mut body.payload else {
            panic!("not a ballot")
        };
        ballot.contests[0].option_proofs.swap(0, 1);
        Post::sign(&body, &e.voters[v]).unwrap()
    };
    // While voting is open (and the board has cached the ballot
    // parameters from the first ballot), the proof is what is wrong.
    e.cast(&client, 0, &[vec![0, 1, 0]]).await.unwrap();
    expect_err(
        client.post(id, &broken(1)).await.unwrap(),
        422,
        "invalid_proof",
    );
    client.admin(id, "close", json!({})).await.unwrap().unwrap();
    // After the close: the window, whatever the proofs.
    for post in [broken(1), broken(2), e.ballot(2, &[vec![0, 0, 1]]).unwrap()] {
        expect_err(
            client.post(id, &post).await.unwrap(),
            409,
            "election_not_open",
        );
    }
    // A credential not on the list is refused as late too (rule 1 before
    // rule 4).
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let post = e.ballot_with(&stranger, &[vec![1, 0, 0]]).unwrap();
    expect_err(
        client.post(id, &post).await.unwrap(),
        409,
        "election_not_open",
    );
    let status = client.status(id).await.unwrap();
    assert_eq!(status["state"], "closed");
    assert_eq!(status["ballots"], 1);
}
