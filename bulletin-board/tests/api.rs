//! HTTP-level tests of the bulletin board (SPEC.md §10), each run on SQLite
//! and on PostgreSQL (skipped without a server unless
//! `PSEPHOS_REQUIRE_POSTGRES=1`).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use ed25519_dalek::SigningKey;
use psephos_board::appender::Receipt;
use psephos_board::testkit::{
    check_receipt, check_record, sign, ApiError, Client, SimElection, TestBoard, TEST_PAGE_BYTES,
};
use psephos_crypto::ballot::EncryptedBallot;
use psephos_crypto::log::merkle::verify_consistency;
use psephos_crypto::record::{Body, Payload, Post, SignatureHex};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::json;

on_both_backends!(
    whole_election_lifecycle_produces_a_verifiable_record,
    ballot_rules_reject_each_bad_ballot,
    key_ceremony_rules_are_enforced,
    bad_dealer_is_disqualified_by_a_complaint,
    read_api_serves_pages_proofs_and_refuses_forged_sizes,
    pages_end_at_the_byte_cap_and_stream,
    admin_endpoints_need_the_token_and_garbage_is_refused,
);

fn vkey(board: &TestBoard) -> String {
    board.board.note_verifier().to_vkey()
}

fn expect_err<T: std::fmt::Debug>(r: Result<T, ApiError>, status: u16, code: &str) -> ApiError {
    match r {
        Ok(v) => panic!("expected {status} {code}, got success {v:?}"),
        Err(e) => {
            assert_eq!((e.status, e.body.error.as_str()), (status, code), "{e}");
            e
        }
    }
}

/// SPEC.md §10.6: setup → key_ceremony → ready → open → closed → tallied,
/// with revotes (last counts) and a verifiable record and receipts.
async fn whole_election_lifecycle_produces_a_verifiable_record(board: &TestBoard) {
    let client = board.client();
    let mut e = SimElection::new("lifecycle", 3, 2, 3, 6);
    e.create(&client).await.unwrap();
    assert_eq!(client.status("lifecycle").await.unwrap()["state"], "setup");
    e.ceremony(&client).await.unwrap();
    let st = client.status("lifecycle").await.unwrap();
    assert_eq!(st["state"], "ready");
    assert_eq!(st["acks"], json!([1, 2, 3]));

    // A ballot before voting opens (§10.4 rule 1).
    let early = e.ballot(0, &[vec![1, 0, 0]]).unwrap();
    expect_err(
        client.post("lifecycle", &early).await.unwrap(),
        409,
        "election_not_open",
    );
    // Opening needs the credential list.
    expect_err(
        client
            .admin(
                "lifecycle",
                "open",
                json!({"bundle_sha256": hex::encode([1u8; 32])}),
            )
            .await
            .unwrap(),
        409,
        "wrong_state",
    );
    client
        .post_ok("lifecycle", &e.credential_list().unwrap())
        .await
        .unwrap();
    client
        .admin(
            "lifecycle",
            "open",
            json!({"bundle_sha256": hex::encode([1u8; 32])}),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(client.status("lifecycle").await.unwrap()["state"], "open");

    let choices = [0usize, 1, 1, 2, 1, 0];
    let mut receipts: Vec<Receipt> = Vec::new();
    for (v, &c) in choices.iter().enumerate() {
        let mut choice = vec![0; 3];
        choice[c] = 1;
        receipts.push(e.cast(&client, v, &[choice]).await.unwrap());
    }
    // Voter 0 changes their mind: the last ballot counts.
    receipts.push(e.cast(&client, 0, &[vec![0, 0, 1]]).await.unwrap());
    for r in &receipts {
        check_receipt(r, &vkey(board)).unwrap();
        assert_eq!(r.short_code.len(), 19);
    }
    let st = client.status("lifecycle").await.unwrap();
    assert_eq!(
        (st["ballots"].as_u64(), st["counted"].as_u64()),
        (Some(7), Some(6))
    );

    // Tally: close, two of three trustees decrypt.
    let counts = e.close_and_tally(&client, &[3, 1]).await.unwrap();
    assert_eq!(counts, vec![vec![1, 3, 2]]);
    let st = client.status("lifecycle").await.unwrap();
    assert_eq!(st["state"], "tallied");

    // A ballot after close (§10.4 rule 1).
    let late = e.ballot(1, &[vec![1, 0, 0]]).unwrap();
    expect_err(
        client.post("lifecycle", &late).await.unwrap(),
        409,
        "election_not_open",
    );
    // Invalid transitions are 409.
    expect_err(
        client.admin("lifecycle", "close", json!({})).await.unwrap(),
        409,
        "wrong_state",
    );
    expect_err(
        client
            .admin("lifecycle", "finalize-keys", json!({}))
            .await
            .unwrap(),
        409,
        "wrong_state",
    );

    let lines = client.entries("lifecycle").await.unwrap();
    let checkpoint = client.checkpoint("lifecycle").await.unwrap();
    let n = check_record(&lines, &checkpoint, &vkey(board)).unwrap();
    assert_eq!(n, st["size"].as_u64().unwrap());
    let kinds: Vec<String> = lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["body"]["type"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(kinds.first().map(String::as_str), Some("manifest"));
    assert_eq!(kinds.last().map(String::as_str), Some("result"));
    for k in [
        "joint_key",
        "voting_opened",
        "voting_closed",
        "credential_list",
    ] {
        assert_eq!(kinds.iter().filter(|x| *x == k).count(), 1, "{k}");
    }
    // Every receipt's checkpoint is consistent with the final one.
    let final_root = {
        let v = psephos_crypto::log::checkpoint::NoteVerifier::from_vkey(&vkey(board)).unwrap();
        psephos_crypto::log::checkpoint::open_checkpoint(&checkpoint, &v)
            .unwrap()
            .0
    };
    for r in &receipts {
        let v = psephos_crypto::log::checkpoint::NoteVerifier::from_vkey(&vkey(board)).unwrap();
        let (old, _) = psephos_crypto::log::checkpoint::open_checkpoint(&r.checkpoint, &v).unwrap();
        let proof = client
            .get_json(&format!(
                "/api/v1/elections/lifecycle/proof/consistency?from={}&to={}",
                old.size, final_root.size
            ))
            .await
            .unwrap()
            .unwrap();
        let hashes: Vec<[u8; 32]> = proof["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| psephos_crypto::encoding::decode_hex32("h", h.as_str().unwrap()).unwrap())
            .collect();
        verify_consistency(
            old.size,
            final_root.size,
            &old.root,
            &final_root.root,
            &hashes,
        )
        .unwrap();
    }
    // The election list.
    let list = client.get_json("/api/v1/elections").await.unwrap().unwrap();
    assert_eq!(list[0]["id"], "lifecycle");
    assert_eq!(list[0]["state"], "tallied");
}

fn resign(e: &SimElection, key: &SigningKey, ballot: EncryptedBallot) -> Post {
    sign(&e.id, key, Payload::Ballot(ballot)).unwrap()
}

fn ballot_of(post: &Post) -> EncryptedBallot {
    let body: Body = serde_json::from_str(post.body_text()).unwrap();
    match body.payload {
        Payload::Ballot(b) => b,
        other => panic!("not a ballot: {other:?}"),
    }
}

/// SPEC.md §10.4: each ballot rule, one rejection each.
async fn ballot_rules_reject_each_bad_ballot(board: &TestBoard) {
    let client = board.client();
    let mut e = SimElection::new("ballots", 3, 2, 5, 4);
    e.setup_and_open(&client).await.unwrap();
    let id = "ballots";
    let good = e.ballot(0, &[vec![0, 1, 0, 0, 0]]).unwrap();
    client.post_ok(id, &good).await.unwrap();

    // Replayed ballot: the same post again.
    expect_err(
        client.post(id, &good).await.unwrap(),
        409,
        "ciphertext_reused",
    );
    // Copied ballot under another credential: its proofs name the first one.
    let copied = resign(&e, &e.voters[1], ballot_of(&good));
    expect_err(
        client.post(id, &copied).await.unwrap(),
        422,
        "invalid_proof",
    );
    // Credential not on the list.
    let stranger = SigningKey::generate(&mut ChaCha20Rng::seed_from_u64(7001));
    let outsider = e.ballot_with(&stranger, &[vec![1, 0, 0, 0, 0]]).unwrap();
    expect_err(
        client.post(id, &outsider).await.unwrap(),
        403,
        "not_eligible",
    );
    // Signature that does not verify.
    let fresh = e.ballot(1, &[vec![1, 0, 0, 0, 0]]).unwrap();
    let mut sig = fresh.signature.0;
    sig[5] ^= 1;
    let forged = Post {
        body: fresh.body.clone(),
        signature: SignatureHex(sig),
    };
    expect_err(
        client.post(id, &forged).await.unwrap(),
        401,
        "bad_signature",
    );
    // A proof that does not verify: two options' ciphertexts swapped.
    let mut swapped = ballot_of(&fresh);
    swapped.contests[0].ciphertexts.swap(0, 1);
    let swapped = resign(&e, &e.voters[1], swapped);
    expect_err(
        client.post(id, &swapped).await.unwrap(),
        422,
        "invalid_proof",
    );
    // Not well-formed for the manifest: a contest missing.
    let mut short = ballot_of(&fresh);
    short.contests.clear();
    let short = resign(&e, &e.voters[1], short);
    expect_err(
        client.post(id, &short).await.unwrap(),
        422,
        "ballot_malformed",
    );
    // Copied ciphertext inside a ballot: the same R twice.
    let mut twice = ballot_of(&fresh);
    twice.contests[0].ciphertexts[1] = twice.contests[0].ciphertexts[0];
    let twice = resign(&e, &e.voters[1], twice);
    expect_err(
        client.post(id, &twice).await.unwrap(),
        409,
        "ciphertext_reused",
    );
    // Above the size limit.
    let big = format!(
        r#"{{"body":{{"election":"{id}","type":"ballot","pad":"{}"}},"signature":"{}"}}"#,
        "a".repeat(300 << 10),
        "00".repeat(64)
    );
    expect_err(
        client
            .post_raw::<Receipt>(
                &format!("/api/v1/elections/{id}/posts"),
                big.into_bytes(),
                false,
            )
            .await
            .unwrap(),
        413,
        "ballot_too_large",
    );
    // For another election.
    let mut other = SimElection::new("other", 1, 1, 2, 1);
    other.manifest_hash = e.manifest_hash;
    other.pk = e.pk;
    let wrong = other.ballot_with(&e.voters[2], &[vec![1, 0]]).unwrap();
    expect_err(
        client.post(id, &wrong).await.unwrap(),
        400,
        "wrong_election",
    );
    // The valid ballot still goes in after all that, and a revote too.
    client.post_ok(id, &fresh).await.unwrap();
    e.cast(&client, 1, &[vec![0, 0, 0, 0, 1]]).await.unwrap();
    let st = client.status(id).await.unwrap();
    assert_eq!(
        (st["ballots"].as_u64(), st["counted"].as_u64()),
        (Some(3), Some(2))
    );
}

/// SPEC.md §10.3: order, authors, commit–reveal, acknowledgements.
async fn key_ceremony_rules_are_enforced(board: &TestBoard) {
    let client = board.client();
    let mut e = SimElection::new("ceremony", 3, 2, 2, 2);
    e.create(&client).await.unwrap();
    let id = "ceremony";
    // A registration signed by another trustee's key.
    let t1 = e.trustee(1).unwrap();
    let impostor = sign(
        id,
        &e.trustee(2).unwrap().key,
        Payload::TrusteeRegistration {
            trustee: 1,
            encryption_key: *t1.enc.public_key().as_point(),
        },
    )
    .unwrap();
    expect_err(
        client.post(id, &impostor).await.unwrap(),
        403,
        "wrong_author",
    );
    client
        .post_ok(id, &e.registration(1).unwrap())
        .await
        .unwrap();
    assert_eq!(client.status(id).await.unwrap()["state"], "key_ceremony");
    expect_err(
        client.post(id, &e.registration(1).unwrap()).await.unwrap(),
        409,
        "duplicate",
    );
    // Commit before everyone registered.
    let reveals: Vec<Body> = (1..=3).map(|l| e.reveal_body(l).unwrap()).collect();
    let commit1 = e.commit_for(1, &reveals[0]).unwrap();
    expect_err(client.post(id, &commit1).await.unwrap(), 409, "wrong_state");
    for l in 2..=3 {
        client
            .post_ok(id, &e.registration(l).unwrap())
            .await
            .unwrap();
    }
    client.post_ok(id, &commit1).await.unwrap();
    // Reveal before every commit is in.
    let reveal1 = Post::sign(&reveals[0], &e.trustee(1).unwrap().key).unwrap();
    expect_err(client.post(id, &reveal1).await.unwrap(), 409, "wrong_state");
    for l in 2..=3 {
        let c = e.commit_for(l, &reveals[l as usize - 1]).unwrap();
        client.post_ok(id, &c).await.unwrap();
    }
    // A reveal that is not what trustee 2 committed to.
    let other = Post::sign(&e.reveal_body(2).unwrap(), &e.trustee(2).unwrap().key).unwrap();
    expect_err(
        client.post(id, &other).await.unwrap(),
        422,
        "commitment_mismatch",
    );
    // Only the board writes joint_key, voting_opened, ...
    let board_only = sign(id, &e.trustee(1).unwrap().key, Payload::VotingClosed {}).unwrap();
    expect_err(
        client.post(id, &board_only).await.unwrap(),
        403,
        "board_only",
    );
    // Only the credential authority posts the list.
    let mut fake = SimElection::new(id, 1, 1, 2, 2);
    fake.authority = e.trustee(1).unwrap().key.clone();
    expect_err(
        client
            .post(id, &fake.credential_list().unwrap())
            .await
            .unwrap(),
        403,
        "wrong_author",
    );
    // Finalize before everything is revealed: nobody qualified yet.
    expect_err(
        client.admin(id, "finalize-keys", json!({})).await.unwrap(),
        409,
        "ceremony_incomplete",
    );
    for l in 1..=3u32 {
        let p = Post::sign(&reveals[l as usize - 1], &e.trustee(l).unwrap().key).unwrap();
        client.post_ok(id, &p).await.unwrap();
    }
    expect_err(client.post(id, &reveal1).await.unwrap(), 409, "duplicate");
    // Acknowledging before the joint key exists.
    let early_ack = sign(
        id,
        &e.trustee(1).unwrap().key,
        Payload::KeyAck {
            trustee: 1,
            public_key: psephos_crypto::elgamal::SecretKey::random(
                &mut ChaCha20Rng::seed_from_u64(7002),
            )
            .public_key(),
        },
    )
    .unwrap();
    expect_err(
        client.post(id, &early_ack).await.unwrap(),
        409,
        "wrong_state",
    );
    expect_err(
        client
            .admin(id, "open", json!({"bundle_sha256": hex::encode([0u8; 32])}))
            .await
            .unwrap(),
        409,
        "wrong_state",
    );
    client
        .admin(id, "finalize-keys", json!({}))
        .await
        .unwrap()
        .unwrap();
    expect_err(
        client.admin(id, "finalize-keys", json!({})).await.unwrap(),
        409,
        "wrong_state",
    );
    let st = client.status(id).await.unwrap();
    assert_eq!(st["qualified"], json!([1, 2, 3]));
    let pk =
        psephos_crypto::elgamal::PublicKey::from_hex(st["public_key"].as_str().unwrap()).unwrap();
    // The joint key is the sum of the dealers' A_i0.
    let expected = psephos_crypto::threshold::joint_key(&[
        &e.trustee(1).unwrap().poly.commitments(),
        &e.trustee(2).unwrap().poly.commitments(),
        &e.trustee(3).unwrap().poly.commitments(),
    ])
    .unwrap();
    assert_eq!(pk, expected);
    // An acknowledgement of another key.
    expect_err(
        client.post(id, &early_ack).await.unwrap(),
        422,
        "key_mismatch",
    );
    let late_commit = e.commit_for(1, &reveals[0]).unwrap();
    expect_err(
        client.post(id, &late_commit).await.unwrap(),
        409,
        "wrong_state",
    );
    for l in 1..=2u32 {
        let ack = sign(
            id,
            &e.trustee(l).unwrap().key,
            Payload::KeyAck {
                trustee: l,
                public_key: pk,
            },
        )
        .unwrap();
        client.post_ok(id, &ack).await.unwrap();
        if l == 1 {
            assert_eq!(client.status(id).await.unwrap()["state"], "key_ceremony");
            expect_err(client.post(id, &ack).await.unwrap(), 409, "duplicate");
        }
    }
    assert_eq!(client.status(id).await.unwrap()["state"], "ready");
}

/// SPEC.md §10.3 complaints: a dealer proven bad is not qualified; forged
/// evidence is refused.
async fn bad_dealer_is_disqualified_by_a_complaint(board: &TestBoard) {
    use psephos_crypto::share_encryption::{encrypt_share, make_complaint};
    let client = board.client();
    let mut e = SimElection::new("complaint", 3, 2, 2, 2);
    e.create(&client).await.unwrap();
    let id = "complaint";
    for l in 1..=3 {
        client
            .post_ok(id, &e.registration(l).unwrap())
            .await
            .unwrap();
    }
    let fp = e.ceremony_fp();
    let mut rng = ChaCha20Rng::seed_from_u64(7003);
    let mut reveals: Vec<Body> = (1..=3).map(|l| e.reveal_body(l).unwrap()).collect();
    // Dealer 3 gives trustee 1 the value meant for trustee 2.
    let y1 = e.trustee(1).unwrap().enc.public_key().to_non_identity();
    let wrong = e.trustee(3).unwrap().poly.evaluate(2);
    let (eph, ct) = encrypt_share(&fp, 3, 1, &y1, &wrong, &mut rng).unwrap();
    if let Payload::DkgCommitments { shares, .. } = &mut reveals[2].payload {
        let s = shares.iter_mut().find(|s| s.to == 1).unwrap();
        s.ephemeral = eph;
        s.ciphertext = ct;
    }
    for l in 1..=3u32 {
        let c = e.commit_for(l, &reveals[l as usize - 1]).unwrap();
        client.post_ok(id, &c).await.unwrap();
    }
    for l in 1..=3u32 {
        let p = Post::sign(&reveals[l as usize - 1], &e.trustee(l).unwrap().key).unwrap();
        client.post_ok(id, &p).await.unwrap();
    }
    let evidence = make_complaint(&fp, 3, 1, &e.trustee(1).unwrap().enc, &eph, &mut rng);
    // Forged evidence: trustee 2 reuses it against dealer 1.
    let forged = sign(
        id,
        &e.trustee(2).unwrap().key,
        Payload::DkgComplaint {
            trustee: 2,
            dealer: 1,
            shared_key: evidence.shared_key,
            proof: evidence.proof,
        },
    )
    .unwrap();
    expect_err(
        client.post(id, &forged).await.unwrap(),
        422,
        "invalid_proof",
    );
    let complaint = sign(
        id,
        &e.trustee(1).unwrap().key,
        Payload::DkgComplaint {
            trustee: 1,
            dealer: 3,
            shared_key: evidence.shared_key,
            proof: evidence.proof,
        },
    )
    .unwrap();
    client.post_ok(id, &complaint).await.unwrap();
    expect_err(client.post(id, &complaint).await.unwrap(), 409, "duplicate");
    client
        .admin(id, "finalize-keys", json!({}))
        .await
        .unwrap()
        .unwrap();
    let st = client.status(id).await.unwrap();
    assert_eq!(st["qualified"], json!([1, 2]));
    assert_eq!(st["complaints"], json!([{"trustee": 1, "dealer": 3}]));
    let expected = psephos_crypto::threshold::joint_key(&[
        &e.trustee(1).unwrap().poly.commitments(),
        &e.trustee(2).unwrap().poly.commitments(),
    ])
    .unwrap();
    assert_eq!(
        st["public_key"].as_str().unwrap(),
        expected.as_point().to_hex()
    );
}

/// SPEC.md §10.1 read API: pages, X-Log-Size, inclusion by index and by
/// leaf, consistency; sizes the log never had are refused.
async fn read_api_serves_pages_proofs_and_refuses_forged_sizes(board: &TestBoard) {
    let client = board.client();
    let mut e = SimElection::new("reads", 3, 2, 2, 2);
    e.create(&client).await.unwrap();
    let id = "reads";
    let mut receipts = Vec::new();
    for l in 1..=3 {
        receipts.push(
            client
                .post_ok(id, &e.registration(l).unwrap())
                .await
                .unwrap(),
        );
    }
    let http = reqwest::Client::new();
    let resp = http
        .get(format!(
            "{}/api/v1/elections/{id}/entries?start=1&end=3",
            board.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-log-size"], "4");
    assert_eq!(resp.headers()["content-type"], "application/jsonl");
    let text = resp.text().await.unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(text.lines().next().unwrap().starts_with(r#"{"index":1,"#));
    let (status, _) = client
        .get_text(&format!("/api/v1/elections/{id}/entries?start=3&end=1"))
        .await
        .unwrap();
    assert_eq!(status, 400);

    let lines = client.entries(id).await.unwrap();
    let note = client.checkpoint(id).await.unwrap();
    assert_eq!(check_record(&lines, &note, &vkey(board)).unwrap(), 4);
    for (i, r) in receipts.iter().enumerate() {
        assert_eq!(r.index, i as u64 + 1);
        check_receipt(r, &vkey(board)).unwrap();
        let by_leaf = client
            .get_json(&format!(
                "/api/v1/elections/{id}/proof/inclusion?leaf={}",
                r.leaf_hash
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_leaf["index"], r.index);
        assert_eq!(by_leaf["size"], 4);
        let by_index = client
            .get_json(&format!(
                "/api/v1/elections/{id}/proof/inclusion?index={}&size={}",
                r.index, r.size
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_index["proof"], json!(r.inclusion_proof));
    }
    // Forged checkpoint requests: proofs for trees the board never had.
    for q in ["index=0&size=9", "index=7", "leaf=00", "index=0&leaf=aa"] {
        let r = client
            .get_json(&format!("/api/v1/elections/{id}/proof/inclusion?{q}"))
            .await
            .unwrap();
        let e = r.unwrap_err();
        assert!(e.status == 400 || e.status == 404, "{q}: {e}");
    }
    for q in ["from=3&to=9", "from=3&to=2", "from=1"] {
        let r = client
            .get_json(&format!("/api/v1/elections/{id}/proof/consistency?{q}"))
            .await
            .unwrap();
        assert_eq!(r.unwrap_err().status, 400, "{q}");
    }
    let resp = http
        .post(format!("{}/api/v1/elections/{id}/checkpoint", board.url))
        .body(note.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(client.checkpoint(id).await.unwrap(), note);
    let err = client
        .get_json("/api/v1/elections/nope")
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(
        (err.status, err.body.error.as_str()),
        (404, "unknown_election")
    );
    let info = client.get_json("/api/v1/board").await.unwrap().unwrap();
    assert_eq!(info["key"], vkey(board));
    assert_eq!(info["origin"], "psephos-board");
    assert!(note.starts_with("psephos-board/reads\n4\n"));
    assert_eq!(
        client.get_text("/healthz").await.unwrap(),
        (200, "ok".to_owned())
    );
}

/// SPEC.md §10.1: a page ends before the entry that would take it past
/// the byte cap (the test boards' [`TEST_PAGE_BYTES`]) but holds at least
/// one entry however large; it is streamed (chunked, no length); reading
/// on from where each page ended gives the whole log, entry for entry.
async fn pages_end_at_the_byte_cap_and_stream(board: &TestBoard) {
    let client = board.client();
    let id = "paged";
    // 400 voters: the credential list entry is larger than a page.
    let mut e = SimElection::new(id, 3, 2, 3, 400);
    e.setup_and_open(&client).await.unwrap();
    for v in 0..30 {
        let mut c = vec![0; 3];
        c[v % 3] = 1;
        e.cast(&client, v, &[c]).await.unwrap();
    }
    let cap = TEST_PAGE_BYTES;
    let size = client.election_status(id).await.unwrap().size;
    // The whole log, one entry a request: the reference.
    let mut whole = Vec::new();
    for i in 0..size {
        let (status, text) = client
            .get_text(&format!(
                "/api/v1/elections/{id}/entries?start={i}&end={}",
                i + 1
            ))
            .await
            .unwrap();
        assert_eq!(status, 200);
        assert_eq!(text.lines().count(), 1, "entry {i}");
        whole.push(text.lines().next().unwrap().to_owned());
    }
    // The log has what the test needs: several entries fit in a page, and
    // some are larger than a page on their own.
    let fits = whole.iter().filter(|l| l.len() < cap / 4).count();
    assert!(fits > 8, "only {fits} small entries");
    let large = whole.iter().filter(|l| l.len() + 1 > cap).count();
    assert!(large > 0, "no entry larger than {cap} bytes");

    let http = reqwest::Client::new();
    let (mut start, mut pages, mut read) = (0u64, 0, Vec::new());
    while start < size {
        let resp = http
            .get(format!(
                "{}/api/v1/elections/{id}/entries?start={start}",
                board.url
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["x-log-size"], size.to_string().as_str());
        assert_eq!(resp.headers()["transfer-encoding"], "chunked");
        assert!(resp.headers().get("content-length").is_none());
        let text = resp.text().await.unwrap();
        assert!(text.ends_with('\n'));
        let got: Vec<&str> = text.lines().collect();
        // Exactly the entries that fit, or the one entry larger than the cap.
        let mut expected = 0;
        let mut bytes = 0;
        for line in &whole[start as usize..] {
            if expected > 0 && bytes + line.len() + 1 > cap {
                break;
            }
            bytes += line.len() + 1;
            expected += 1;
        }
        assert_eq!(got.len(), expected, "page at {start}");
        assert_eq!(text.len(), bytes, "page at {start}");
        assert!(text.len() <= cap || got.len() == 1, "page at {start}");
        read.extend(got.into_iter().map(str::to_owned));
        start += expected as u64;
        pages += 1;
    }
    assert_eq!(read, whole);
    assert!(pages > 2, "{pages} pages");
    // The count cap still applies below the byte cap.
    let (_, text) = client
        .get_text(&format!("/api/v1/elections/{id}/entries?start=0&end=2"))
        .await
        .unwrap();
    assert_eq!(text.lines().collect::<Vec<_>>(), whole[..2]);
    // An empty range is an empty page; past the end too.
    for q in [format!("start={size}"), "start=3&end=3".to_owned()] {
        let (status, text) = client
            .get_text(&format!("/api/v1/elections/{id}/entries?{q}"))
            .await
            .unwrap();
        assert_eq!((status, text.as_str()), (200, ""), "{q}");
    }
    // The test kit's client reads on from short pages as well.
    assert_eq!(client.entries(id).await.unwrap(), whole);
    let note = client.checkpoint(id).await.unwrap();
    assert_eq!(check_record(&whole, &note, &vkey(board)).unwrap(), size);
}

/// SPEC.md §10.1, §10.7: the admin token, ids, manifests, garbage bodies.
async fn admin_endpoints_need_the_token_and_garbage_is_refused(board: &TestBoard) {
    let client = board.client();
    let anonymous = Client::new(&board.url, None);
    let wrong = Client::new(&board.url, Some("not-the-token".into()));
    let e = SimElection::new("admin", 3, 2, 2, 2);
    expect_err(
        anonymous
            .create_election("admin", &e.manifest)
            .await
            .unwrap(),
        401,
        "unauthorized",
    );
    expect_err(
        wrong.create_election("admin", &e.manifest).await.unwrap(),
        401,
        "unauthorized",
    );
    expect_err(
        client.create_election("Bad_Id", &e.manifest).await.unwrap(),
        400,
        "invalid_id",
    );
    let mut bad = e.manifest.clone();
    bad.threshold = 4;
    expect_err(
        client.create_election("admin", &bad).await.unwrap(),
        422,
        "invalid_manifest",
    );
    let mut bad = e.manifest.clone();
    bad.trustees[1].index = 5;
    expect_err(
        client.create_election("admin", &bad).await.unwrap(),
        422,
        "invalid_manifest",
    );
    let mut bad = e.manifest.clone();
    bad.contests[0].max_selections = 9;
    expect_err(
        client.create_election("admin", &bad).await.unwrap(),
        422,
        "invalid_manifest",
    );
    client
        .create_election("admin", &e.manifest)
        .await
        .unwrap()
        .unwrap();
    expect_err(
        client.create_election("admin", &e.manifest).await.unwrap(),
        409,
        "election_exists",
    );
    expect_err(
        wrong
            .admin("admin", "finalize-keys", json!({}))
            .await
            .unwrap(),
        401,
        "unauthorized",
    );
    expect_err(
        wrong.admin("admin", "close", json!({})).await.unwrap(),
        401,
        "unauthorized",
    );
    expect_err(
        client.admin("nope", "close", json!({})).await.unwrap(),
        404,
        "unknown_election",
    );
    expect_err(
        client
            .admin("admin", "open", json!({"bundle_sha256": "xyz"}))
            .await
            .unwrap(),
        400,
        "malformed_json",
    );

    let path = "/api/v1/elections/admin/posts";
    let t1 = &e.trustee(1).unwrap().key;
    let valid = e.registration(1).unwrap();
    let multiline = format!(
        r#"{{"body":{},"signature":"{}"}}"#,
        valid.body_text().replacen(',', ",\n", 1),
        hex::encode(valid.signature.0)
    );
    let unknown_type = {
        let text = format!(
            r#"{{"election":"admin","author":"{}","type":"coup"}}"#,
            hex::encode(t1.verifying_key().to_bytes())
        );
        use ed25519_dalek::Signer;
        let mut msg = psephos_crypto::record::SIGNATURE_DOMAIN.to_vec();
        msg.extend_from_slice(text.as_bytes());
        format!(
            r#"{{"body":{text},"signature":"{}"}}"#,
            hex::encode(t1.sign(&msg).to_bytes())
        )
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not json".to_vec(), "malformed_post"),
        (vec![0xff, 0xfe, 0x00, 0x01], "malformed_post"),
        (b"{}".to_vec(), "malformed_post"),
        (br#"{"body":5,"signature":"00"}"#.to_vec(), "malformed_post"),
        (
            format!(
                r#"{{"body":{{"election":"admin"}},"signature":"{}"}}"#,
                "00".repeat(64)
            )
            .into_bytes(),
            "malformed_body",
        ),
        (
            format!(
                r#"{{"body":{{"election":"admin","type":"ballot"}},"signature":"{}"}}"#,
                "00".repeat(64)
            )
            .into_bytes(),
            "election_not_open",
        ),
        (
            format!(r#"{{"body":[1,2],"signature":"{}"}}"#, "00".repeat(64)).into_bytes(),
            "malformed_body",
        ),
        (multiline.into_bytes(), "malformed_body"),
        (unknown_type.into_bytes(), "malformed_body"),
    ];
    for (bytes, code) in cases {
        let shown = String::from_utf8_lossy(&bytes)
            .chars()
            .take(60)
            .collect::<String>();
        let r = client
            .post_raw::<Receipt>(path, bytes, false)
            .await
            .unwrap();
        let err = r.unwrap_err();
        assert_eq!(err.body.error, code, "{shown}: {err}");
        assert!((400..500).contains(&err.status), "{shown}: {err}");
    }
    // Nothing of that reached the log.
    assert_eq!(client.status("admin").await.unwrap()["size"], 1);
}

/// SPEC.md §10.7: per-client rate limit and body size limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_over_the_rate_or_size_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = psephos_board::Config::new(dir.path());
    config.limits.rate_per_sec = 1.0;
    config.limits.rate_burst = 3.0;
    config.limits.max_body_bytes = 64 << 10;
    let board = TestBoard::start(config).await.unwrap();
    let client = board.client();
    let big = vec![b' '; 100 << 10];
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/elections/x/posts", board.url))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(client.get_text("/healthz").await.unwrap());
    }
    assert_eq!(statuses[0], (200, "ok".to_owned()));
    let limited = statuses.iter().find(|(s, _)| *s == 429).expect("no 429");
    let body: serde_json::Value = serde_json::from_str(&limited.1).unwrap();
    assert_eq!(body["error"], "rate_limited");
    board.finish().await;
}

/// SPEC.md §13.6 and §10.1: the board serves the voting and election pages
/// of its bundle; `open` without a hash names the served bundle, and a
/// different hash is refused. Without a bundle the pages answer `no_pages`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_serves_the_voting_pages_and_names_their_bundle_when_voting_opens() {
    let bundle = tempfile::tempdir().unwrap();
    std::fs::write(bundle.path().join("vote.html"), "<p>vote here</p>").unwrap();
    std::fs::write(bundle.path().join("election.html"), "<p>election</p>").unwrap();
    std::fs::write(bundle.path().join("psephos_voter_bg.wasm"), b"\0asm").unwrap();
    let web = psephos_board::pages::load(Some(bundle.path()))
        .unwrap()
        .unwrap();
    let hash = hex::encode(web.bundle_sha256());
    let dir = tempfile::tempdir().unwrap();
    let mut config = psephos_board::Config::new(dir.path());
    config.limits.rate_per_sec = 0.0;
    config.web = Some(web);
    let board = TestBoard::start(config).await.unwrap();
    let client = board.client();
    assert_eq!(
        client.get_text("/elections/pages/vote").await.unwrap(),
        (200, "<p>vote here</p>".to_owned())
    );
    assert_eq!(
        client.get_text("/elections/pages").await.unwrap(),
        (200, "<p>election</p>".to_owned())
    );
    let wasm = reqwest::get(format!("{}/assets/psephos_voter_bg.wasm", board.url))
        .await
        .unwrap();
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    assert!(wasm.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self' 'wasm-unsafe-eval'"));
    let (status, sums) = client.get_text("/assets/SHA256SUMS").await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(sums.lines().count(), 3);

    let mut e = SimElection::new("pages", 3, 2, 3, 2);
    e.create(&client).await.unwrap();
    e.ceremony(&client).await.unwrap();
    client
        .post_ok("pages", &e.credential_list().unwrap())
        .await
        .unwrap();
    expect_err(
        client
            .admin("pages", "open", json!({"bundle_sha256": "00".repeat(32)}))
            .await
            .unwrap(),
        409,
        "bundle_mismatch",
    );
    client
        .admin("pages", "open", json!({}))
        .await
        .unwrap()
        .unwrap();
    let st = client.status("pages").await.unwrap();
    assert_eq!(
        (st["state"].as_str(), st["bundle_sha256"].as_str()),
        (Some("open"), Some(hash.as_str()))
    );
    board.finish().await;

    // A board without a bundle says how to get the pages, and needs the hash.
    let plain = TestBoard::sqlite().await.unwrap();
    let client = plain.client();
    let (status, text) = client.get_text("/elections/pages/vote").await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!((status, body["error"].as_str()), (404, Some("no_pages")));
    assert!(body["message"].as_str().unwrap().contains("build-web.sh"));
    let mut e = SimElection::new("nopages", 3, 2, 3, 2);
    e.create(&client).await.unwrap();
    e.ceremony(&client).await.unwrap();
    client
        .post_ok("nopages", &e.credential_list().unwrap())
        .await
        .unwrap();
    expect_err(
        client.admin("nopages", "open", json!({})).await.unwrap(),
        400,
        "missing_bundle",
    );
    // An empty body means no hash, like `{}` (wire::OpenVoting); a field
    // the request does not have is refused.
    for empty in [&b""[..], b" \n"] {
        let r: Result<Receipt, _> = client
            .post_raw("/api/v1/elections/nopages/open", empty.to_vec(), true)
            .await
            .unwrap();
        expect_err(r, 400, "missing_bundle");
    }
    expect_err(
        client
            .admin("nopages", "open", json!({"bundle": "00".repeat(32)}))
            .await
            .unwrap(),
        400,
        "malformed_json",
    );
    plain.finish().await;
}
