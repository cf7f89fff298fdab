//! The board's promises under failure (SPEC.md §10.8): a receipt given is
//! a ballot kept across `kill -9`, and several board processes on one
//! PostgreSQL database keep one gap-free chain.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use psephos_board::appender::Receipt;
use psephos_board::testkit::{check_receipt, check_record, Client, PgDatabase, SimElection};
use psephos_crypto::log::merkle::leaf_hash;
use psephos_crypto::record::Post;

async fn board_vkey(client: &Client) -> String {
    let info = client.get_json("/api/v1/board").await.unwrap().unwrap();
    info["key"].as_str().unwrap().to_owned()
}

fn ballots(e: &SimElection, n: usize) -> Vec<Post> {
    (0..n)
        .map(|v| {
            let mut c = vec![0; 3];
            c[v % 3] = 1;
            e.ballot(v, &[c]).unwrap()
        })
        .collect()
}

/// Post `posts` with `clients` concurrent clients spread over `targets`;
/// returns the receipts given. Failures (a killed server) are tolerated.
async fn post_all(targets: &[Client], posts: Vec<Post>, clients: usize, id: &str) -> Vec<Receipt> {
    let posts = Arc::new(Mutex::new(posts));
    let receipts = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let client = targets[c % targets.len()].clone();
        let (posts, receipts, id) = (posts.clone(), receipts.clone(), id.to_owned());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(post) = posts.lock().unwrap().pop() else {
                    break;
                };
                match client.post(&id, &post).await {
                    Ok(Ok(r)) => receipts.lock().unwrap().push(r),
                    Ok(Err(e)) => panic!("ballot refused: {e}"),
                    Err(_) => break, // the server is gone
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let r = receipts.lock().unwrap().clone();
    r
}

/// Every receipt is in the record: same index, same leaf hash, proof valid.
fn check_receipts_in(lines: &[String], receipts: &[Receipt], vkey: &str) {
    for r in receipts {
        let line = &lines[r.index as usize];
        assert_eq!(
            hex::encode(leaf_hash(line.as_bytes())),
            r.leaf_hash,
            "entry {}",
            r.index
        );
        check_receipt(r, vkey).unwrap();
    }
}

async fn sigkill_during_load_keeps_every_receipt(database_url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let token = common::init(dir.path(), database_url);
    let port = common::free_port();
    let mut child = common::serve(dir.path(), database_url, port).await;
    let client = Client::new(&format!("http://127.0.0.1:{port}"), Some(token.clone()));
    let mut e = SimElection::new("durable", 3, 2, 3, 600);
    e.setup_and_open(&client).await.unwrap();
    let vkey = board_vkey(&client).await;
    let posts = ballots(&e, 600);

    let load = tokio::spawn({
        let client = client.clone();
        async move { post_all(&[client], posts, 16, "durable").await }
    });
    // Let some ballots through, then kill -9 mid-load.
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let st = client.status("durable").await.unwrap();
        if st["ballots"].as_u64().unwrap_or(0) >= 100 {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let receipts = load.await.unwrap();
    // The board had committed 100 ballots when it was killed; the answers
    // of some were still in flight, so fewer receipts may have arrived.
    // What matters is that every receipt that did is in the log.
    assert!(!receipts.is_empty(), "no receipt arrived before the kill");
    assert!(
        receipts.len() < 600,
        "the server was killed too late to test anything"
    );

    let port2 = common::free_port();
    let mut child = common::serve(dir.path(), database_url, port2).await;
    let client = Client::new(&format!("http://127.0.0.1:{port2}"), Some(token));
    let lines = client.entries("durable").await.unwrap();
    let note = client.checkpoint("durable").await.unwrap();
    check_record(&lines, &note, &vkey).unwrap();
    check_receipts_in(&lines, &receipts, &vkey);
    // The log goes on after the restart.
    let more = e.ballot(599, &[vec![0, 0, 1]]).unwrap();
    let r = client.post_ok("durable", &more).await.unwrap();
    assert_eq!(r.index, lines.len() as u64);
    // `export` writes the same record.
    let out = dir.path().join("record.jsonl");
    let mut cmd = std::process::Command::new(common::binary());
    cmd.args(["export", "--election", "durable", "--data-dir"])
        .arg(dir.path())
        .arg("--out")
        .arg(&out);
    match database_url {
        Some(u) => cmd.env("DATABASE_URL", u),
        None => cmd.env_remove("DATABASE_URL"),
    };
    assert!(cmd.status().unwrap().success());
    let exported = std::fs::read_to_string(&out).unwrap();
    let all = client.entries("durable").await.unwrap();
    assert_eq!(exported.lines().collect::<Vec<_>>(), all);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_ballot_load_loses_no_receipt_sqlite() {
    sigkill_during_load_keeps_every_receipt(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_ballot_load_loses_no_receipt_postgres() {
    let Some(pg) = PgDatabase::create().await.unwrap() else {
        return;
    };
    sigkill_during_load_keeps_every_receipt(Some(&pg.url)).await;
    pg.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_board_processes_on_one_postgres_database_keep_one_chain() {
    let Some(pg) = PgDatabase::create().await.unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let token = common::init(dir.path(), Some(&pg.url));
    let (pa, pb) = (common::free_port(), common::free_port());
    let mut a = common::serve(dir.path(), Some(&pg.url), pa).await;
    let mut b = common::serve(dir.path(), Some(&pg.url), pb).await;
    let ca = Client::new(&format!("http://127.0.0.1:{pa}"), Some(token.clone()));
    let cb = Client::new(&format!("http://127.0.0.1:{pb}"), Some(token));
    let mut e = SimElection::new("scale", 3, 2, 3, 300);
    e.setup_and_open(&ca).await.unwrap();
    let vkey = board_vkey(&ca).await;
    let receipts = post_all(&[ca.clone(), cb.clone()], ballots(&e, 300), 16, "scale").await;
    assert_eq!(receipts.len(), 300);
    let mut indices: Vec<u64> = receipts.iter().map(|r| r.index).collect();
    indices.sort_unstable();
    indices.dedup();
    assert_eq!(indices.len(), 300, "two receipts share an index");
    let lines_a = ca.entries("scale").await.unwrap();
    let lines_b = cb.entries("scale").await.unwrap();
    assert_eq!(lines_a, lines_b);
    check_record(&lines_a, &ca.checkpoint("scale").await.unwrap(), &vkey).unwrap();
    check_record(&lines_b, &cb.checkpoint("scale").await.unwrap(), &vkey).unwrap();
    check_receipts_in(&lines_a, &receipts, &vkey);
    for c in [&ca, &cb] {
        let st = c.status("scale").await.unwrap();
        assert_eq!(st["ballots"], 300);
        assert_eq!(st["size"].as_u64().unwrap(), lines_a.len() as u64);
    }
    // Close on one, tally with trustees posting to the other.
    ca.admin("scale", "close", serde_json::json!({}))
        .await
        .unwrap()
        .unwrap();
    for l in [1, 2] {
        let p = e.partial_decryption(&cb, l).await.unwrap();
        cb.post_ok("scale", &p).await.unwrap();
    }
    let st = ca.status("scale").await.unwrap();
    assert_eq!(st["result"], serde_json::json!([[100, 100, 100]]));
    a.kill().unwrap();
    b.kill().unwrap();
    a.wait().unwrap();
    b.wait().unwrap();
    pg.drop_database().await;
}
