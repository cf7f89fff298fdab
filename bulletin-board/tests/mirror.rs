//! Mirrors (SPEC.md §10.9): a mirror follows a live board through a whole
//! election, catches up after being offline, catches a forked board with
//! evidence that verifies, refuses an entry the board's rules reject; the
//! board takes cosignatures only from registered mirrors.

// The helpers below (servers, fake upstream, histories) run only inside
// tests; a failure in them is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use ed25519_dalek::SigningKey;
use psephos_board::mirror::{
    add_mirror, AlarmKind, Evidence, EvidenceKind, InvalidEntry, Mirror, MirrorConfig,
};
use psephos_board::testkit::{check_record, Client, PgDatabase, SimElection, TestBoard};
use psephos_crypto::log::checkpoint::{
    add_cosignature, open_checkpoint, sign_checkpoint, verify_cosignatures, Checkpoint, Cosigner,
    NoteSigner, NoteVerifier,
};
use psephos_crypto::log::merkle::{leaf_hash, verify_consistency, verify_inclusion, MerkleTree};
use psephos_crypto::record::{Entry, Post};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Run a test body on SQLite and on PostgreSQL (board and mirror alike;
/// skipped without a server unless `PSEPHOS_REQUIRE_POSTGRES=1`).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let board = psephos_board::testkit::TestBoard::sqlite().await.unwrap();
                super::$name(&board, None).await;
                board.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(board) = psephos_board::testkit::TestBoard::postgres().await.unwrap() else {
                    return;
                };
                let Some(db) = psephos_board::testkit::PgDatabase::create().await.unwrap() else {
                    return;
                };
                super::$name(&board, Some(&db)).await;
                board.finish().await;
                db.drop_database().await;
            }
        }
    )*};
}

on_both_backends!(
    mirror_follows_a_live_board_through_a_whole_election_to_the_identical_log,
    offline_mirror_resumes_from_its_store_and_catches_up,
);

fn config(upstream: &str, dir: &Path, db: Option<&PgDatabase>) -> MirrorConfig {
    let mut config = MirrorConfig::new(upstream, dir);
    config.database_url = db.map(|d| d.url.clone());
    config.interval = Duration::from_millis(100);
    config.limits.rate_per_sec = 0.0;
    config
}

/// Serve a mirror's API on a loopback port.
async fn serve(mirror: &Mirror) -> (String, oneshot::Sender<()>, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = mirror.app();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = rx.await;
        })
        .await;
    });
    (url, tx, task)
}

fn board_verifier(board: &TestBoard) -> NoteVerifier {
    board.board.note_verifier()
}

/// The signed tree of a note.
fn checkpoint_of(note: &str, verifier: &NoteVerifier) -> Checkpoint {
    open_checkpoint(note, verifier).unwrap().0
}

/// SPEC.md §10.9.2: a mirror following a board through a whole election
/// (ceremony, ballots, close, tally) ends with the board's log byte for
/// byte, a record that verifies (chain, tree, checkpoint), the same
/// election state, working proofs, and its cosignature on both copies of
/// the checkpoint.
async fn mirror_follows_a_live_board_through_a_whole_election_to_the_identical_log(
    board: &TestBoard,
    db: Option<&PgDatabase>,
) {
    let client = board.client();
    let dir = tempfile::tempdir().unwrap();
    let mut mirror = Mirror::open(config(&board.url, dir.path(), db))
        .await
        .unwrap();
    assert_eq!(mirror.board_vkey(), board_verifier(board).to_vkey());
    add_mirror(&board.board.store, &mirror.vkey(), None)
        .await
        .unwrap();
    let (mirror_url, stop_server, server) = serve(&mirror).await;
    let mirror_client = Client::new(&mirror_url, None);

    // The mirror follows while the election runs.
    let (stop, stopped) = oneshot::channel::<()>();
    let follower = tokio::spawn(async move {
        let alarm = mirror
            .follow(async {
                let _ = stopped.await;
            })
            .await;
        (mirror, alarm)
    });
    let mut e = SimElection::new("mirrored", 3, 2, 3, 5);
    e.setup_and_open(&client).await.unwrap();
    for v in 0..5 {
        e.cast(
            &client,
            v,
            &[vec![0, u64::from(v % 2 == 0), u64::from(v % 2 == 1)]],
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    e.cast(&client, 0, &[vec![1, 0, 0]]).await.unwrap();
    let counts = e.close_and_tally(&client, &[1, 3]).await.unwrap();
    assert_eq!(counts, vec![vec![1, 2, 2]]);
    let _ = stop.send(());
    let (mut mirror, alarm) = follower.await.unwrap();
    assert_eq!(alarm, None);
    // A last pass picks up whatever the board appended since the last one.
    let report = mirror.pass().await.unwrap();
    assert_eq!(report.alarm, None);

    let board_lines = client.entries(&e.id).await.unwrap();
    let mirror_lines = mirror_client.entries(&e.id).await.unwrap();
    assert_eq!(mirror_lines, board_lines, "the mirror's log is the board's");

    let verifier = board_verifier(board);
    let mirror_note = mirror_client.checkpoint(&e.id).await.unwrap();
    let board_note = client.checkpoint(&e.id).await.unwrap();
    assert_eq!(
        checkpoint_of(&mirror_note, &verifier),
        checkpoint_of(&board_note, &verifier)
    );
    let size = check_record(&mirror_lines, &mirror_note, &verifier.to_vkey()).unwrap();
    assert_eq!(size, board_lines.len() as u64);
    // The verifier passes on the mirror's copy: every check of SPEC.md §11,
    // against the mirror's checkpoint with the mirror's cosignature.
    let report = psephos_verifier::verify_lines(
        mirror_lines.iter().map(String::as_str),
        psephos_verifier::VerifyOptions {
            election: Some(e.id.clone()),
            board_key: Some(verifier.clone()),
            board_origin: Some("psephos-board".into()),
            checkpoint: Some(mirror_note.clone()),
            cosigners: vec![mirror.verifier()],
            min_cosignatures: 1,
            require_result: true,
            ..psephos_verifier::VerifyOptions::default()
        },
    );
    assert!(
        report.failed_checks().is_empty(),
        "{}",
        report.render_text()
    );

    // The mirror's cosignature is on its own copy and, delivered, on the board's.
    for note in [&mirror_note, &board_note] {
        let (_, cosignatures) = verify_cosignatures(note, &verifier, &[mirror.verifier()]).unwrap();
        assert_eq!(cosignatures.len(), 1, "{note}");
    }
    let status = client.status(&e.id).await.unwrap();
    let mirrored = mirror_client.status(&e.id).await.unwrap();
    for field in [
        "state",
        "size",
        "manifest_hash",
        "public_key",
        "tally",
        "result",
    ] {
        assert_eq!(mirrored[field], status[field], "{field}");
    }
    assert_eq!(mirrored["state"], "tallied");

    // Proofs from the mirror verify against its checkpoint.
    let cp = checkpoint_of(&mirror_note, &verifier);
    let inclusion = mirror_client
        .get_json(&format!(
            "/api/v1/elections/{}/proof/inclusion?index=3",
            e.id
        ))
        .await
        .unwrap()
        .unwrap();
    let path: Vec<[u8; 32]> = serde_json::from_value::<Vec<String>>(inclusion["proof"].clone())
        .unwrap()
        .iter()
        .map(|h| psephos_crypto::encoding::decode_hex32("h", h).unwrap())
        .collect();
    verify_inclusion(
        &leaf_hash(mirror_lines[3].as_bytes()),
        3,
        cp.size,
        &path,
        &cp.root,
    )
    .unwrap();
    let mut tree = MerkleTree::new();
    for line in &mirror_lines {
        tree.push(leaf_hash(line.as_bytes()));
    }
    let consistency = mirror_client
        .get_json(&format!(
            "/api/v1/elections/{}/proof/consistency?from=5&to={}",
            e.id, cp.size
        ))
        .await
        .unwrap()
        .unwrap();
    let proof: Vec<[u8; 32]> = serde_json::from_value::<Vec<String>>(consistency["proof"].clone())
        .unwrap()
        .iter()
        .map(|h| psephos_crypto::encoding::decode_hex32("h", h).unwrap())
        .collect();
    verify_consistency(5, cp.size, &tree.root_at(5).unwrap(), &cp.root, &proof).unwrap();

    // Read-only, identified, and nothing to report.
    let info = mirror_client
        .get_json("/api/v1/board")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info["key"], json!(verifier.to_vkey()));
    assert_eq!(info["mirror"]["key"], json!(mirror.vkey()));
    assert_eq!(info["mirror"]["halted"], json!(false));
    let evidence = mirror_client
        .get_json(&format!("/api/v1/elections/{}/equivocation", e.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(evidence, json!([]));
    let refused = mirror_client
        .post(&e.id, &e.ballot(1, &[vec![1, 0, 0]]).unwrap())
        .await
        .unwrap();
    assert_eq!(refused.unwrap_err().status, 404);

    let _ = stop_server.send(());
    server.await.unwrap();
    mirror.close().await;
}

/// SPEC.md §10.9.2: a mirror that was offline while the board went on
/// resumes from its own store (it fetches only what it lacks) and catches
/// up to the identical log.
async fn offline_mirror_resumes_from_its_store_and_catches_up(
    board: &TestBoard,
    db: Option<&PgDatabase>,
) {
    let client = board.client();
    let dir = tempfile::tempdir().unwrap();
    let mut e = SimElection::new("offline", 3, 2, 2, 6);
    e.setup_and_open(&client).await.unwrap();
    for v in 0..2 {
        e.cast(&client, v, &[vec![1, 0]]).await.unwrap();
    }
    let mut mirror = Mirror::open(config(&board.url, dir.path(), db))
        .await
        .unwrap();
    add_mirror(&board.board.store, &mirror.vkey(), None)
        .await
        .unwrap();
    let first = mirror.pass().await.unwrap();
    let size1 = client.entries(&e.id).await.unwrap().len() as u64;
    assert_eq!((first.appended, first.cosigned), (size1, 1));
    mirror.close().await;

    // Offline while voting ends and the result is published.
    for v in 2..6 {
        e.cast(&client, v, &[vec![0, 1]]).await.unwrap();
    }
    let counts = e.close_and_tally(&client, &[2, 3]).await.unwrap();
    assert_eq!(counts, vec![vec![2, 4]]);

    let mut mirror = Mirror::open(config(&board.url, dir.path(), db))
        .await
        .unwrap();
    let second = mirror.pass().await.unwrap();
    let lines = client.entries(&e.id).await.unwrap();
    assert_eq!(
        second.appended,
        lines.len() as u64 - size1,
        "resumed, not restarted"
    );
    assert_eq!(second.alarm, None);
    let again = mirror.pass().await.unwrap();
    assert_eq!((again.appended, again.cosigned), (0, 0));

    let (url, stop, server) = serve(&mirror).await;
    let mirror_client = Client::new(&url, None);
    assert_eq!(mirror_client.entries(&e.id).await.unwrap(), lines);
    let verifier = board_verifier(board);
    let note = mirror_client.checkpoint(&e.id).await.unwrap();
    check_record(&lines, &note, &verifier.to_vkey()).unwrap();
    let board_note = client.checkpoint(&e.id).await.unwrap();
    let (_, cosigned) = verify_cosignatures(&board_note, &verifier, &[mirror.verifier()]).unwrap();
    assert_eq!(
        cosigned.len(),
        1,
        "the board serves the mirror's cosignature"
    );
    let _ = stop.send(());
    server.await.unwrap();
    mirror.close().await;
}

/// SPEC.md §10.9.3: the board keeps cosignatures of registered mirrors
/// only, once per mirror, on checkpoints it signed and stored, and serves
/// them with the checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_keeps_cosignatures_of_registered_mirrors_only() {
    let board = TestBoard::sqlite().await.unwrap();
    let client = board.client();
    let mut e = SimElection::new("cosigned", 1, 1, 2, 1);
    e.create(&client).await.unwrap();
    let verifier = board_verifier(&board);
    let note = client.checkpoint(&e.id).await.unwrap();
    let mirror = Cosigner::new(
        "mirror.example",
        SigningKey::generate(&mut ChaCha20Rng::seed_from_u64(9001)),
    )
    .unwrap();
    let cosigned = add_cosignature(&note, &verifier, &mirror, 1_700_000_000).unwrap();
    let http = reqwest::Client::new();
    let post = |body: String| {
        let http = http.clone();
        let url = format!("{}/api/v1/elections/{}/cosignatures", board.url, e.id);
        async move {
            let resp = http.post(url).body(body).send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = post(cosigned.clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("unknown_mirror"))
    );

    add_mirror(
        &board.board.store,
        &mirror.verifier().to_vkey(),
        Some("http://mirror.example"),
    )
    .await
    .unwrap();
    let listed = client.get_json("/api/v1/mirrors").await.unwrap().unwrap();
    assert_eq!(listed[0]["key"], json!(mirror.verifier().to_vkey()));
    let (status, body) = post(cosigned.clone()).await;
    assert_eq!((status, body["added"].as_u64()), (200, Some(1)), "{body}");
    let (status, body) = post(cosigned.clone()).await;
    assert_eq!((status, body["added"].as_u64()), (200, Some(0)), "{body}");
    let served = client.checkpoint(&e.id).await.unwrap();
    assert_eq!(served, cosigned);
    let (_, found) = verify_cosignatures(&served, &verifier, &[mirror.verifier()]).unwrap();
    assert_eq!(found.len(), 1);

    // A cosignature that does not verify, a note the board did not sign,
    // a tree it never had, and another tree of a size it has.
    let tampered = {
        let (_, lines) = open_checkpoint(&cosigned, &verifier).unwrap();
        let mut line = lines[0].clone();
        line.signature[7] ^= 1;
        format!("{note}{}", line.to_line())
    };
    let (status, body) = post(tampered).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("invalid_cosignature"))
    );
    let (status, body) = post("not a note".into()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("invalid_note"))
    );
    let signer = NoteSigner::new("psephos-board", board.board.key.clone()).unwrap();
    let mut cp = checkpoint_of(&note, &verifier);
    cp.size = 99;
    let unknown = sign_checkpoint(&cp, &signer).unwrap();
    let unknown = add_cosignature(&unknown, &verifier, &mirror, 5).unwrap();
    let (status, body) = post(unknown).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown_checkpoint"))
    );
    let mut cp = checkpoint_of(&note, &verifier);
    cp.root[0] ^= 1;
    let other = sign_checkpoint(&cp, &signer).unwrap();
    let other = add_cosignature(&other, &verifier, &mirror, 5).unwrap();
    let (status, body) = post(other).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("checkpoint_mismatch"))
    );
    board.finish().await;
}

// A fake upstream: a board that serves whatever history the test gives
// it, signed with the real board's key (a "forked" board).

#[derive(Debug)]
struct FakeLog {
    election: String,
    lines: Vec<String>,
    signer: NoteSigner,
    cosignatures_received: usize,
}

type Fake = Arc<Mutex<FakeLog>>;

fn tree_of(lines: &[String]) -> MerkleTree {
    let mut tree = MerkleTree::new();
    for line in lines {
        tree.push(leaf_hash(line.as_bytes()));
    }
    tree
}

fn fake_note(log: &FakeLog) -> String {
    let cp = Checkpoint {
        origin: format!("{}/{}", log.signer.name(), log.election),
        size: log.lines.len() as u64,
        root: tree_of(&log.lines).root(),
    };
    sign_checkpoint(&cp, &log.signer).unwrap()
}

fn q(params: &HashMap<String, String>, name: &str) -> u64 {
    params.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
}

async fn start_fake(log: FakeLog) -> (String, Fake) {
    let fake: Fake = Arc::new(Mutex::new(log));
    let app = Router::new()
        .route(
            "/api/v1/board",
            get(|State(f): State<Fake>| async move {
                let log = f.lock().unwrap();
                let v = log.signer.verifier();
                Json(json!({
                    "origin": log.signer.name(),
                    "key": v.to_vkey(),
                    "public_key": hex::encode(v.verifying_key().to_bytes()),
                }))
            }),
        )
        .route(
            "/api/v1/elections",
            get(|State(f): State<Fake>| async move {
                let log = f.lock().unwrap();
                Json(json!([{"id": log.election, "title": "t", "state": "open", "size": log.lines.len()}]))
            }),
        )
        .route(
            "/api/v1/elections/{id}/checkpoint",
            get(|State(f): State<Fake>| async move { fake_note(&f.lock().unwrap()) }),
        )
        .route(
            "/api/v1/elections/{id}/entries",
            get(
                |State(f): State<Fake>, Query(p): Query<HashMap<String, String>>| async move {
                    let log = f.lock().unwrap();
                    let end = (q(&p, "end") as usize).min(log.lines.len());
                    let start = (q(&p, "start") as usize).min(end);
                    log.lines[start..end]
                        .iter()
                        .map(|l| format!("{l}\n"))
                        .collect::<String>()
                },
            ),
        )
        .route(
            "/api/v1/elections/{id}/proof/consistency",
            get(
                |State(f): State<Fake>, Query(p): Query<HashMap<String, String>>| async move {
                    let log = f.lock().unwrap();
                    let (from, to) = (q(&p, "from"), q(&p, "to"));
                    match tree_of(&log.lines).consistency_proof(from, to) {
                        Ok(proof) => Json(json!({
                            "from": from,
                            "to": to,
                            "proof": proof.iter().map(hex::encode).collect::<Vec<_>>(),
                        }))
                        .into_response(),
                        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
                    }
                },
            ),
        )
        .route(
            "/api/v1/elections/{id}/cosignatures",
            axum::routing::post(|State(f): State<Fake>, _body: Bytes| async move {
                f.lock().unwrap().cosignatures_received += 1;
                Json(json!({"added": 1}))
            }),
        )
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, fake)
}

/// `lines[..keep]` continued by new ballot entries of the given voters: a
/// second history with a common prefix.
fn fork(e: &SimElection, lines: &[String], keep: usize, voters: &[usize]) -> Vec<String> {
    let mut out = lines[..keep].to_vec();
    for &v in voters {
        let post = e.ballot(v, &[vec![0, 1]]).unwrap();
        out.push(entry_line(&out, post));
    }
    out
}

fn entry_line(log: &[String], post: Post) -> String {
    let prev = log.last().map_or([0; 32], |l| leaf_hash(l.as_bytes()));
    Entry {
        index: log.len() as u64,
        prev,
        time: 1_800_000_000,
        body: post.body,
        signature: post.signature,
    }
    .to_line()
    .unwrap()
}

/// A real board's history of an open election with three ballots, and the
/// simulation that made it.
async fn real_history(id: &str) -> (TestBoard, SimElection, Vec<String>) {
    let board = TestBoard::sqlite().await.unwrap();
    let client = board.client();
    let mut e = SimElection::new(id, 2, 2, 2, 8);
    e.setup_and_open(&client).await.unwrap();
    for v in 0..3 {
        e.cast(&client, v, &[vec![1, 0]]).await.unwrap();
    }
    let lines = client.entries(id).await.unwrap();
    (board, e, lines)
}

/// SPEC.md §10.9.4: a board that shows the mirror a second history with a
/// common prefix (the same size, a longer one, a shorter one) is caught;
/// the evidence proves it with the board's signatures alone; the mirror
/// stops cosigning, keeps the alarm across restarts, and `--once` exits 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forked_board_is_caught_and_the_evidence_verifies() {
    let (board, e, history) = real_history("forked").await;
    let k = history.len();
    let signer = NoteSigner::new("psephos-board", board.board.key.clone()).unwrap();
    let verifier = signer.verifier();
    let cases = [
        (fork(&e, &history, k - 2, &[4, 5]), EvidenceKind::SameSize),
        (
            fork(&e, &history, k - 2, &[4, 5, 6, 7]),
            EvidenceKind::PrefixMismatch,
        ),
        (
            fork(&e, &history, k - 3, &[4]),
            EvidenceKind::PrefixMismatch,
        ),
    ];
    for (other, kind) in cases {
        let (url, fake) = start_fake(FakeLog {
            election: e.id.clone(),
            lines: history.clone(),
            signer: NoteSigner::new("psephos-board", board.board.key.clone()).unwrap(),
            cosignatures_received: 0,
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let mut mirror = Mirror::open(config(&url, dir.path(), None)).await.unwrap();
        let report = mirror.pass().await.unwrap();
        assert_eq!(
            (report.appended, report.cosigned, report.alarm),
            (k as u64, 1, None)
        );
        assert_eq!(fake.lock().unwrap().cosignatures_received, 1);

        fake.lock().unwrap().lines = other.clone();
        let report = mirror.pass().await.unwrap();
        assert_eq!(report.alarm, Some(AlarmKind::Equivocation), "{kind:?}");
        let again = mirror.pass().await.unwrap();
        assert_eq!(again.alarm, Some(AlarmKind::Equivocation));
        assert_eq!(
            fake.lock().unwrap().cosignatures_received,
            1,
            "no cosignature after the alarm"
        );

        let (mirror_url, stop, server) = serve(&mirror).await;
        let served = Client::new(&mirror_url, None)
            .get_json(&format!("/api/v1/elections/{}/equivocation", e.id))
            .await
            .unwrap()
            .unwrap();
        let evidence: Vec<Evidence> = serde_json::from_value(served).unwrap();
        assert_eq!(evidence.len(), 1);
        let ev = &evidence[0];
        assert_eq!(ev.kind, kind);
        ev.verify().unwrap();
        // The same, by hand: two valid board signatures over inconsistent trees.
        let (held, _) = open_checkpoint(&ev.held, &verifier).unwrap();
        let (presented, _) = open_checkpoint(&ev.presented, &verifier).unwrap();
        assert_eq!(held.root, tree_of(&history).root());
        assert_eq!(presented.root, tree_of(&other).root());
        if kind == EvidenceKind::SameSize {
            assert_eq!(held.size, presented.size);
            assert_ne!(held.root, presented.root);
        } else {
            let proof = ev.proof.as_ref().unwrap();
            let (small, large) = if held.size < presented.size {
                (&held, &presented)
            } else {
                (&presented, &held)
            };
            let old_root = psephos_crypto::encoding::decode_hex32("r", &proof.old_root).unwrap();
            let hashes: Vec<[u8; 32]> = proof
                .hashes
                .iter()
                .map(|h| psephos_crypto::encoding::decode_hex32("h", h).unwrap())
                .collect();
            verify_consistency(small.size, large.size, &old_root, &large.root, &hashes).unwrap();
            assert_ne!(old_root, small.root);
        }
        // Tampering with the evidence makes it inconclusive.
        let mut forged = ev.clone();
        forged.presented = forged.held.clone();
        assert!(forged.verify().is_err());

        let _ = stop.send(());
        server.await.unwrap();
        mirror.close().await;
        // The alarm stands across a restart.
        let mirror = Mirror::open(config(&url, dir.path(), None)).await.unwrap();
        assert_eq!(mirror.alarm(), Some(AlarmKind::Equivocation));
        mirror.close().await;
    }

    // The command line: `--once` exits 0 while all is well, 3 on equivocation.
    let (url, fake) = start_fake(FakeLog {
        election: e.id.clone(),
        lines: history.clone(),
        signer,
        cosignatures_received: 0,
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let run = |url: String, dir: std::path::PathBuf| async move {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_psephos-board"))
            .args(["mirror", "--once", "--upstream", &url, "--data-dir"])
            .arg(dir)
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "error")
            .status()
            .await
            .unwrap()
            .code()
    };
    assert_eq!(run(url.clone(), dir.path().to_owned()).await, Some(0));
    fake.lock().unwrap().lines = fork(&e, &history, k - 1, &[6]);
    assert_eq!(run(url.clone(), dir.path().to_owned()).await, Some(3));
    assert_eq!(run(url, dir.path().to_owned()).await, Some(3));
    board.finish().await;
}

/// SPEC.md §10.9.4: a second mirror that has not seen the fork itself
/// takes conclusive evidence posted to it (by a trustee, a voter or the
/// first mirror), verifies it, keeps it, serves it and stops cosigning;
/// evidence about another election, another board or that proves nothing
/// is refused with its code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posted_equivocation_evidence_stops_a_mirror_that_did_not_see_the_fork() {
    let (board, e, history) = real_history("posted").await;
    let k = history.len();
    let (url, fake) = start_fake(FakeLog {
        election: e.id.clone(),
        lines: history.clone(),
        signer: NoteSigner::new("psephos-board", board.board.key.clone()).unwrap(),
        cosignatures_received: 0,
    })
    .await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = Mirror::open(config(&url, dir_a.path(), None))
        .await
        .unwrap();
    let mut b = Mirror::open(config(&url, dir_b.path(), None))
        .await
        .unwrap();
    assert_eq!(a.pass().await.unwrap().alarm, None);
    assert_eq!(b.pass().await.unwrap().cosigned, 1);
    // Mirror A sees the fork; mirror B does not look yet.
    fake.lock().unwrap().lines = fork(&e, &history, k - 2, &[4, 5]);
    assert_eq!(a.pass().await.unwrap().alarm, Some(AlarmKind::Equivocation));
    let (a_url, stop_a, server_a) = serve(&a).await;
    let path = format!("/api/v1/elections/{}/equivocation", e.id);
    let served = Client::new(&a_url, None)
        .get_json(&path)
        .await
        .unwrap()
        .unwrap();
    let evidence: Vec<Evidence> = serde_json::from_value(served).unwrap();
    let ev = evidence[0].clone();

    let (b_url, stop_b, server_b) = serve(&b).await;
    let client = Client::new(&b_url, None);
    let post = |body: Vec<u8>, path: String| {
        let client = client.clone();
        async move { client.post_raw::<Value>(&path, body, false).await.unwrap() }
    };
    // Refused: not evidence, another election, forged, another board.
    let err = post(b"{}".to_vec(), path.clone()).await.unwrap_err();
    assert_eq!(
        (err.status, err.body.error.as_str()),
        (400, "malformed_json")
    );
    let other_path = "/api/v1/elections/another/equivocation".to_string();
    let err = post(serde_json::to_vec(&ev).unwrap(), other_path)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status, err.body.error.as_str()),
        (400, "wrong_election")
    );
    let mut forged = ev.clone();
    forged.presented = forged.held.clone();
    let err = post(serde_json::to_vec(&forged).unwrap(), path.clone())
        .await
        .unwrap_err();
    assert_eq!(
        (err.status, err.body.error.as_str()),
        (422, "invalid_evidence")
    );
    let mut other_board = ev.clone();
    other_board.board_key = NoteSigner::new(
        "psephos-board",
        SigningKey::generate(&mut ChaCha20Rng::seed_from_u64(9002)),
    )
    .unwrap()
    .verifier()
    .to_vkey();
    let err = post(serde_json::to_vec(&other_board).unwrap(), path.clone())
        .await
        .unwrap_err();
    assert_eq!(
        (err.status, err.body.error.as_str()),
        (422, "invalid_evidence")
    );
    // Accepted once; the same again is already known.
    let ok = post(serde_json::to_vec(&ev).unwrap(), path.clone())
        .await
        .unwrap();
    assert_eq!(ok["recorded"], true);
    let again = post(serde_json::to_vec(&ev).unwrap(), path.clone())
        .await
        .unwrap();
    assert_eq!(again["recorded"], false);
    let served = client.get_json(&path).await.unwrap().unwrap();
    let kept: Vec<Evidence> = serde_json::from_value(served).unwrap();
    assert_eq!(kept, vec![ev]);
    // B stops following and cosigning at its next pass, forked board or not.
    let before = fake.lock().unwrap().cosignatures_received;
    fake.lock().unwrap().lines = history.clone();
    assert_eq!(b.pass().await.unwrap().alarm, Some(AlarmKind::Equivocation));
    assert_eq!(fake.lock().unwrap().cosignatures_received, before);
    let info = client.get_json("/api/v1/board").await.unwrap().unwrap();
    assert_eq!(info["mirror"]["halted"], true);

    for (stop, server) in [(stop_a, server_a), (stop_b, server_b)] {
        let _ = stop.send(());
        server.await.unwrap();
    }
    a.close().await;
    b.close().await;
    board.finish().await;
}

/// SPEC.md §10.9.2: an entry in a tree the board signed that the board's
/// own rules refuse (here a ballot from a credential not on the list) is
/// an alarm with its inclusion proof; nothing after it is cosigned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_refuses_a_signed_entry_the_board_rules_reject() {
    let (board, e, history) = real_history("invalid").await;
    let outsider = SigningKey::generate(&mut ChaCha20Rng::seed_from_u64(9003));
    let ballot = e.ballot_with(&outsider, &[vec![1, 0]]).unwrap();
    let mut bad = history.clone();
    bad.push(entry_line(&bad, ballot));
    let (url, fake) = start_fake(FakeLog {
        election: e.id.clone(),
        lines: bad.clone(),
        signer: NoteSigner::new("psephos-board", board.board.key.clone()).unwrap(),
        cosignatures_received: 0,
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut mirror = Mirror::open(config(&url, dir.path(), None)).await.unwrap();
    let report = mirror.pass().await.unwrap();
    assert_eq!(report.alarm, Some(AlarmKind::InvalidEntry));
    assert_eq!(report.cosigned, 0);
    assert_eq!(fake.lock().unwrap().cosignatures_received, 0);
    assert_eq!(AlarmKind::InvalidEntry.exit_code(), 4);

    let (mirror_url, stop, server) = serve(&mirror).await;
    let info = Client::new(&mirror_url, None)
        .get_json("/api/v1/board")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info["mirror"]["halted"], json!(true));
    let alarm = &info["mirror"]["alarms"][0];
    assert_eq!(alarm["kind"], json!("invalid_entry"));
    let invalid: InvalidEntry = serde_json::from_value(alarm["evidence"].clone()).unwrap();
    assert_eq!(
        (invalid.index, invalid.code.as_str()),
        (history.len() as u64, "not_eligible")
    );
    assert_eq!(invalid.line, bad[history.len()]);
    let cp = invalid.verify_inclusion().unwrap();
    assert_eq!(cp.size, bad.len() as u64);
    // Nothing of the signed tree that holds it is served as verified.
    let entries = Client::new(&mirror_url, None).entries(&e.id).await.unwrap();
    assert!(entries.len() < bad.len());
    let _ = stop.send(());
    server.await.unwrap();
    mirror.close().await;
    board.finish().await;
}

/// SPEC.md §10.9.2 step 6, §10.1: the page bundle the log names is served
/// by hash by the board, fetched and checked by the mirror (which has no
/// bundle of its own), served by the mirror byte for byte, and kept across
/// a restart; a bundle or file a server does not hold is 404
/// `unknown_bundle`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_keeps_and_serves_the_page_bundle_the_log_names() {
    let web = tempfile::tempdir().unwrap();
    let files = [
        ("election.html", b"<p>election</p>".to_vec()),
        ("vote.html", b"<p>vote</p>".to_vec()),
        ("app.js", b"console.log(1)".to_vec()),
        ("psephos_voter_bg.wasm", b"\0asm\x01\0\0\0".to_vec()),
    ];
    for (name, content) in &files {
        std::fs::write(web.path().join(name), content).unwrap();
    }
    let assets = psephos_voter::web::WebAssets::from_dir(web.path()).unwrap();
    let hash = hex::encode(assets.bundle_sha256());
    let data = tempfile::tempdir().unwrap();
    let mut board_config = psephos_board::Config::new(data.path());
    board_config.limits.rate_per_sec = 0.0;
    board_config.web = Some(assets);
    let board = TestBoard::start(board_config).await.unwrap();
    let client = board.client();
    let mut e = SimElection::new("paged", 1, 1, 2, 1);
    e.setup_and_open(&client).await.unwrap();
    assert_eq!(
        client.status(&e.id).await.unwrap()["bundle_sha256"],
        json!(hash)
    );
    let dir = tempfile::tempdir().unwrap();
    let mut mirror = Mirror::open(config(&board.url, dir.path(), None))
        .await
        .unwrap();
    let report = mirror.pass().await.unwrap();
    assert_eq!(report.alarm, None);
    let (mirror_url, stop, server) = serve(&mirror).await;
    let http = reqwest::Client::new();
    let get = |base: String, path: String| {
        let http = http.clone();
        async move {
            let resp = http.get(format!("{base}{path}")).send().await.unwrap();
            let status = resp.status().as_u16();
            let ct = resp
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (status, ct, resp.bytes().await.unwrap().to_vec())
        }
    };
    for base in [board.url.clone(), mirror_url.clone()] {
        for (name, content) in &files {
            let (status, _, body) =
                get(base.clone(), format!("/api/v1/bundles/{hash}/{name}")).await;
            assert_eq!((status, &body), (200, content), "{base} {name}");
        }
        let (status, ct, _) = get(
            base.clone(),
            format!("/api/v1/bundles/{hash}/psephos_voter_bg.wasm"),
        )
        .await;
        assert_eq!((status, ct.as_str()), (200, "application/wasm"));
        let (status, _, sums) =
            get(base.clone(), format!("/api/v1/bundles/{hash}/SHA256SUMS")).await;
        assert_eq!(status, 200);
        let listed = psephos_voter::bundle::parse_sums(&String::from_utf8(sums).unwrap()).unwrap();
        assert_eq!(
            hex::encode(psephos_voter::bundle::bundle_sha256(&listed)),
            hash
        );
        for path in [
            format!("/api/v1/bundles/{hash}/missing.js"),
            format!("/api/v1/bundles/{}/vote.html", hex::encode([7u8; 32])),
        ] {
            let (status, _, body) = get(base.clone(), path.clone()).await;
            let body: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                (status, body["error"].as_str()),
                (404, Some("unknown_bundle")),
                "{base}{path}"
            );
        }
        let (status, _, _) = get(base.clone(), "/api/v1/bundles/xyz/vote.html".into()).await;
        assert_eq!(status, 400);
    }
    let _ = stop.send(());
    server.await.unwrap();
    mirror.close().await;
    // Restarted, the mirror still has the bundle (its own store).
    let mirror = Mirror::open(config(&board.url, dir.path(), None))
        .await
        .unwrap();
    let (mirror_url, stop, server) = serve(&mirror).await;
    let (status, _, body) = get(mirror_url, format!("/api/v1/bundles/{hash}/vote.html")).await;
    assert_eq!((status, body), (200, b"<p>vote</p>".to_vec()));
    let _ = stop.send(());
    server.await.unwrap();
    mirror.close().await;
    board.finish().await;
}
