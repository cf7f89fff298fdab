//! The board under hostile or unlucky input (SPEC.md §10.1, §10.4, §10.5,
//! §10.7): every error is a JSON `{"error", "message"}` with a 4xx status —
//! also the ones the HTTP layers make (405, 408, 413, unparsable queries) —,
//! mangled posts never get past the rules or crash the board, forged
//! partial decryptions are refused, and SIGTERM drains the requests under
//! way before the process exits.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use psephos_board::appender::Receipt;
use psephos_board::testkit::{check_record, sign, ApiError, Client, SimElection, TestBoard};
use psephos_crypto::record::{Body, Payload, Post};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

on_both_backends!(
    mangled_posts_are_refused_with_json_errors_and_nothing_is_appended,
    forged_or_misplaced_partial_decryptions_are_refused,
);

fn expect_err<T: std::fmt::Debug>(r: Result<T, ApiError>, status: u16, code: &str) -> ApiError {
    match r {
        Ok(v) => panic!("expected {status} {code}, got success {v:?}"),
        Err(e) => {
            assert_eq!((e.status, e.body.error.as_str()), (status, code), "{e}");
            e
        }
    }
}

/// SPEC.md §10.4 and "no panics on any input": a valid ballot post with
/// random bytes changed, hundreds of times, while voting is open. Each
/// answer is a 4xx JSON error (the client fails the test on anything
/// else), and the log does not grow. The bytes are chosen by a generator
/// with a fixed seed per backend, printed so a failure can be replayed.
async fn mangled_posts_are_refused_with_json_errors_and_nothing_is_appended(board: &TestBoard) {
    let client = board.client();
    let mut e = SimElection::new("mangled", 3, 2, 3, 3);
    e.setup_and_open(&client).await.unwrap();
    let id = "mangled";
    let path = format!("/api/v1/elections/{id}/posts");
    let size = client.status(id).await.unwrap()["size"].as_u64().unwrap();

    // A ballot body that parses as JSON but not as a ballot, correctly
    // signed: 400 malformed_body (§10.4 rule 3).
    let voter = &e.voters[0];
    let text = format!(
        r#"{{"election":"{id}","author":"{}","type":"ballot","contests":"none"}}"#,
        hex::encode(voter.verifying_key().to_bytes())
    );
    let signature = {
        use ed25519_dalek::Signer;
        let mut msg = psephos_crypto::record::SIGNATURE_DOMAIN.to_vec();
        msg.extend_from_slice(text.as_bytes());
        hex::encode(voter.sign(&msg).to_bytes())
    };
    let post = format!(r#"{{"body":{text},"signature":"{signature}"}}"#);
    expect_err(
        client
            .post_raw::<Receipt>(&path, post.into_bytes(), false)
            .await
            .unwrap(),
        400,
        "malformed_body",
    );

    let valid = serde_json::to_vec(&e.ballot(1, &[vec![0, 1, 0]]).unwrap()).unwrap();
    let (backend, seed) = match board.config.database_url {
        Some(_) => ("PostgreSQL", 0x6d61_6e67_6c65_0002),
        None => ("SQLite", 0x6d61_6e67_6c65_0001),
    };
    eprintln!("mangled posts on {backend}: ChaCha20Rng::seed_from_u64({seed:#x})");
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let alphabet = b"\"{}[]:,0123456789abcdefxyz \\\n\xff\x00-";
    for round in 0..300 {
        let mut bytes = valid.clone();
        let changes = 1 + (rng.next_u32() % 3) as usize;
        for _ in 0..changes {
            let at = rng.next_u32() as usize % bytes.len();
            bytes[at] = alphabet[rng.next_u32() as usize % alphabet.len()];
        }
        if round % 50 == 0 {
            // Truncated too.
            bytes.truncate(rng.next_u32() as usize % bytes.len());
        }
        if bytes == valid {
            continue;
        }
        let shown = String::from_utf8_lossy(&bytes).into_owned();
        let answer = client
            .post_raw::<Receipt>(&path, bytes, false)
            .await
            .unwrap_or_else(|err| panic!("no JSON error for {shown}: {err:#}"));
        match answer {
            Ok(r) => panic!("a mangled ballot was accepted at {}: {shown}", r.index),
            Err(err) => assert!((400..500).contains(&err.status), "{err}: {shown}"),
        }
    }
    assert_eq!(client.status(id).await.unwrap()["size"], size);
    // The board is still well, and the untouched ballot goes in.
    let ok = client
        .post_raw::<Receipt>(&path, valid, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ok.index, size);
}

/// SPEC.md §10.5: a partial decryption is taken only in state `closed`,
/// once per trustee, from the trustee it names, and only if its proofs
/// verify against that trustee's verification key.
async fn forged_or_misplaced_partial_decryptions_are_refused(board: &TestBoard) {
    let client = board.client();
    let mut e = SimElection::new("partials", 3, 2, 2, 3);
    e.setup_and_open(&client).await.unwrap();
    for v in 0..3 {
        e.cast(&client, v, &[vec![1, 0]]).await.unwrap();
    }
    // While voting is open there is no tally to decrypt.
    let early = sign(
        &e.id,
        &e.trustee(1).unwrap().key,
        Payload::PartialDecryption {
            trustee: 1,
            shares: Vec::new(),
        },
    )
    .unwrap();
    expect_err(
        client.post(&e.id, &early).await.unwrap(),
        409,
        "wrong_state",
    );
    client
        .admin(&e.id, "close", json!({}))
        .await
        .unwrap()
        .unwrap();
    let p1 = e.partial_decryption(&client, 1).await.unwrap();
    let p2 = e.partial_decryption(&client, 2).await.unwrap();
    let shares_of = |p: &Post| match serde_json::from_str::<Body>(p.body_text()).unwrap().payload {
        Payload::PartialDecryption { shares, .. } => shares,
        other => panic!("not a partial decryption: {other:?}"),
    };
    // Trustee 2's shares posted as trustee 1's: the DLEQ proofs are for X_2.
    let swapped = sign(
        &e.id,
        &e.trustee(1).unwrap().key,
        Payload::PartialDecryption {
            trustee: 1,
            shares: shares_of(&p2),
        },
    )
    .unwrap();
    expect_err(
        client.post(&e.id, &swapped).await.unwrap(),
        422,
        "invalid_proof",
    );
    // Too few shares for the tally.
    let mut short = shares_of(&p1);
    short.pop();
    let short = sign(
        &e.id,
        &e.trustee(1).unwrap().key,
        Payload::PartialDecryption {
            trustee: 1,
            shares: short,
        },
    )
    .unwrap();
    expect_err(
        client.post(&e.id, &short).await.unwrap(),
        422,
        "invalid_proof",
    );
    // Trustee 1's partial decryption signed by trustee 3.
    let impostor = sign(
        &e.id,
        &e.trustee(3).unwrap().key,
        Payload::PartialDecryption {
            trustee: 1,
            shares: shares_of(&p1),
        },
    )
    .unwrap();
    expect_err(
        client.post(&e.id, &impostor).await.unwrap(),
        403,
        "wrong_author",
    );
    client.post_ok(&e.id, &p1).await.unwrap();
    expect_err(client.post(&e.id, &p1).await.unwrap(), 409, "duplicate");
    assert_eq!(client.status(&e.id).await.unwrap()["decrypted"], json!([1]));
    client.post_ok(&e.id, &p2).await.unwrap();
    let st = client.status(&e.id).await.unwrap();
    assert_eq!(
        (st["state"].as_str(), &st["result"]),
        (Some("tallied"), &json!([[3, 0]]))
    );
}

/// Read one HTTP/1.1 response (head and a Content-Length body) from a raw
/// socket.
async fn read_response(stream: &mut tokio::net::TcpStream) -> (u16, Value) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                let body = serde_json::from_slice(&buf[end + 4..end + 4 + length])
                    .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {head}"));
                return (status, body);
            }
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before a whole response");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// SPEC.md §10.1, §10.7: the errors the HTTP layers produce are JSON too:
/// 405 (wrong method), 408 (a body that never arrives), 413 (a body above
/// the limit; a cosigned note above 64 KiB), 400 (a query that does not
/// parse), 404 (no such endpoint).
///
/// No request here races a short deadline: the board keeps the default
/// 30 s request timeout, and the 408 is asked of a second board whose
/// timeout (5 s) the stalled request waits out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_of_the_http_layers_are_json_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = psephos_board::Config::new(dir.path());
    config.limits.rate_per_sec = 0.0;
    config.limits.max_body_bytes = 256 << 10;
    let board = TestBoard::start(config).await.unwrap();
    let client = board.client();
    let mut e = SimElection::new("layers", 1, 1, 2, 1);
    e.create(&client).await.unwrap();
    let http = reqwest::Client::new();
    let json_error = |resp: reqwest::Response| async move {
        let status = resp.status().as_u16();
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        let body: Value = resp.json().await.unwrap();
        assert!(ct.starts_with("application/json"), "{status}: {ct}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        (status, body["error"].as_str().unwrap().to_owned())
    };

    let resp = http
        .post(format!("{}/api/v1/elections/layers/checkpoint", board.url))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("allow"));
    assert_eq!(json_error(resp).await, (405, "method_not_allowed".into()));

    let resp = http
        .post(format!("{}/api/v1/elections/layers/posts", board.url))
        .body(vec![b' '; 300 << 10])
        .send()
        .await
        .unwrap();
    assert_eq!(json_error(resp).await, (413, "body_too_large".into()));

    let resp = http
        .post(format!(
            "{}/api/v1/elections/layers/cosignatures",
            board.url
        ))
        .body(vec![b'a'; 65 << 10])
        .send()
        .await
        .unwrap();
    assert_eq!(json_error(resp).await, (413, "body_too_large".into()));

    let resp = http
        .get(format!(
            "{}/api/v1/elections/layers/entries?start=%FF%FE",
            board.url
        ))
        .send()
        .await
        .unwrap();
    let (status, _) = json_error(resp).await;
    assert_eq!(status, 400);

    let resp = http
        .get(format!("{}/api/v2/nothing", board.url))
        .send()
        .await
        .unwrap();
    assert_eq!(json_error(resp).await, (404, "not_found".into()));

    // The board still answers.
    assert_eq!(client.status("layers").await.unwrap()["size"], 1);
    board.finish().await;

    // A body announced and never sent: the request times out, on a board
    // whose request timeout is 5 s.
    let slow_dir = tempfile::tempdir().unwrap();
    let mut config = psephos_board::Config::new(slow_dir.path());
    config.limits.rate_per_sec = 0.0;
    let timeout = Duration::from_secs(5);
    config.limits.request_timeout = timeout;
    let slow = TestBoard::start(config).await.unwrap();
    let addr = slow.url.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let sent = std::time::Instant::now();
    stream
        .write_all(
            b"POST /api/v1/elections/layers/posts HTTP/1.1\r\nHost: board\r\n\
              Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"body\":",
        )
        .await
        .unwrap();
    let (status, body) = tokio::time::timeout(Duration::from_secs(120), read_response(&mut stream))
        .await
        .expect("no answer to a stalled request");
    assert_eq!(
        (status, body["error"].as_str()),
        (408, Some("request_timeout"))
    );
    // Not before the timeout: the answer is the timeout's, not another error's.
    assert!(sent.elapsed() >= timeout, "408 after {:?}", sent.elapsed());
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    // That board still answers too.
    let health = reqwest::get(format!("{}/healthz", slow.url)).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    slow.finish().await;
}

/// A board process killed when the test ends, whatever happens.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// SPEC.md §10.7 graceful shutdown: SIGTERM during a load of appends
/// (here: elections being created, each an entry with a receipt); the
/// process finishes what it took, exits with status 0, and every receipt
/// it gave is in the log when it comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_requests_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let token = common::init(dir.path(), None);
    let port = common::free_port();
    let mut first = Running(common::serve(dir.path(), None, port).await);
    let client = Client::new(&format!("http://127.0.0.1:{port}"), Some(token.clone()));
    let info = client.get_json("/api/v1/board").await.unwrap().unwrap();
    let vkey = info["key"].as_str().unwrap().to_owned();
    let manifest = SimElection::new("drain", 1, 1, 2, 1).manifest;
    let ids: Vec<String> = (0..400).map(|i| format!("drain-{i}")).collect();
    let ids = Arc::new(Mutex::new(ids));
    let receipts = Arc::new(Mutex::new(Vec::<(String, Receipt)>::new()));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, ids, receipts, manifest) = (
            client.clone(),
            ids.clone(),
            receipts.clone(),
            manifest.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(id) = ids.lock().unwrap().pop() else {
                    break;
                };
                match client.create_election(&id, &manifest).await {
                    Ok(Ok(created)) => receipts.lock().unwrap().push((id, created.receipt)),
                    Ok(Err(err)) => panic!("creation refused: {err}"),
                    Err(_) => break, // the server has stopped taking requests
                }
            }
        }));
    }
    while receipts.lock().unwrap().len() < 20 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid = first.0.id().to_string();
    let signalled = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(signalled.success());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = first.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the board did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status:?} after SIGTERM");
    for t in tasks {
        t.await.unwrap();
    }
    let receipts = receipts.lock().unwrap().clone();
    assert!(
        receipts.len() < 400,
        "SIGTERM came too late to test anything"
    );

    let port = common::free_port();
    let _second = Running(common::serve(dir.path(), None, port).await);
    let client = Client::new(&format!("http://127.0.0.1:{port}"), Some(token));
    for (id, r) in &receipts {
        let lines = client.entries(id).await.unwrap();
        check_record(&lines, &client.checkpoint(id).await.unwrap(), &vkey).unwrap();
        assert_eq!(
            hex::encode(psephos_crypto::log::merkle::leaf_hash(lines[0].as_bytes())),
            r.leaf_hash,
            "{id}"
        );
    }
}
