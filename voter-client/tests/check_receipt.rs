#![cfg(not(target_arch = "wasm32"))]

//! `psephos-vote check-receipt RECEIPT`, with no flags, against real
//! boards and a real mirror that the election's manifest names as its
//! witness (SPEC.md §13.4, §13.5, §14.1, §14.2, §10.9.4), on SQLite and on
//! PostgreSQL (skipped without a server unless
//! `PSEPHOS_REQUIRE_POSTGRES=1`; `PSEPHOS_TEST_POSTGRES_URL` names it):
//!
//! * a receipt made as the voting page makes it (`Receipt::accept(…)
//!   .naming(its origin, &manifest)`) waits (exit 3) until the witness has
//!   cosigned a checkpoint that holds the ballot, then is witnessed
//!   (exit 0), naming the witness; a receipt of the old format, without
//!   `board_url`, asks for `--board`;
//! * a copy of the board's database served under the same key
//!   (`TestBoard::fork`) goes its own way while the witness follows the
//!   real board: a receipt the fork gave (or an honest receipt checked
//!   against the fork) is a fork (exit 4), with evidence that verifies,
//!   written beside the receipt and posted to the witness, which keeps it,
//!   serves it and stops cosigning.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use psephos_board::mirror::{add_mirror, AlarmKind, Mirror, MirrorConfig};
use psephos_board::testkit::{Client, PgDatabase, SimElection, TestBoard};
use psephos_crypto::log::checkpoint::{open_checkpoint, verify_cosignatures};
use psephos_crypto::log::evidence::{Evidence, EvidenceKind};
use psephos_crypto::witness::Witness;
use psephos_voter::cast::PreparedBallot;
use psephos_voter::credential::Credential;
use psephos_voter::http::BoardClient;
use psephos_voter::receipt::Receipt;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a mirror may take to follow and cosign (it passes every
/// 100 ms; the limit only bounds a broken run).
const MIRROR_LIMIT: Duration = Duration::from_secs(120);

/// Run a test body on SQLite and on PostgreSQL: the board, the mirror
/// (its own database) and the fork alike.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let board = psephos_board::testkit::TestBoard::sqlite().await.unwrap();
                super::$name(&board, None, "sqlite").await;
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
                super::$name(&board, Some(&db), "postgres").await;
                board.finish().await;
                db.drop_database().await;
            }
        }
    )*};
}

on_both_backends!(
    a_page_receipt_waits_for_the_witness_then_is_witnessed,
    a_receipt_from_a_forked_board_is_caught_and_the_witness_keeps_the_evidence,
);

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "psephos-check-receipt-{}-{label}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// A following mirror's task: the mirror back, and the alarm that
/// stopped it.
type Follower = JoinHandle<(Mirror, Option<AlarmKind>)>;

/// A mirror of `board` serving its API on a loopback port, with a
/// seeded cosigning key named `name`: the election's witness.
struct RunningMirror {
    url: String,
    witness: Witness,
    idle: Option<Mirror>,
    follower: Option<(oneshot::Sender<()>, Follower)>,
    stop_server: oneshot::Sender<()>,
    server: JoinHandle<()>,
    _dir: Scratch,
}

impl RunningMirror {
    async fn start(
        board: &TestBoard,
        db: Option<&PgDatabase>,
        name: &str,
        seed: u64,
        label: &str,
    ) -> RunningMirror {
        let dir = Scratch::new(&format!("{label}-mirror"));
        let key_file = dir.join("witness.key");
        let key = SigningKey::generate(&mut ChaCha20Rng::seed_from_u64(seed));
        std::fs::write(
            &key_file,
            format!("{name}\n{}\n", hex::encode(key.to_bytes())),
        )
        .unwrap();
        let mut config = MirrorConfig::new(&board.url, dir.join("data"));
        config.database_url = db.map(|d| d.url.clone());
        config.key_file = Some(key_file);
        config.name = Some(name.to_owned());
        config.interval = Duration::from_millis(100);
        config.limits.rate_per_sec = 0.0;
        let mirror = Mirror::open(config).await.unwrap();
        assert_eq!(mirror.board_vkey(), board.board.note_verifier().to_vkey());

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = mirror.app();
        let (stop_server, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
        });
        let witness = Witness {
            name: name.to_owned(),
            key: mirror.vkey(),
            url: url.clone(),
        };
        RunningMirror {
            url,
            witness,
            idle: Some(mirror),
            follower: None,
            stop_server,
            server,
            _dir: dir,
        }
    }

    /// Follow the board (a pass every 100 ms) until an alarm or
    /// [`RunningMirror::stop_following`].
    fn follow(&mut self) {
        let mut mirror = self.idle.take().expect("the mirror is not following yet");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let alarm = mirror
                .follow(async {
                    let _ = stopped.await;
                })
                .await;
            (mirror, alarm)
        });
        self.follower = Some((stop, task));
    }

    /// The follower's end: the alarm that stopped it, if any (waits up to
    /// [`MIRROR_LIMIT`] for it to stop on its own when `wait` is set).
    async fn stop_following(&mut self, wait: bool) -> Option<AlarmKind> {
        let (stop, task) = self.follower.take().expect("the mirror is following");
        let (mirror, alarm) = if wait {
            tokio::time::timeout(MIRROR_LIMIT, task)
                .await
                .expect("the follower did not stop")
                .unwrap()
        } else {
            let _ = stop.send(());
            task.await.unwrap()
        };
        self.idle = Some(mirror);
        alarm
    }

    fn client(&self) -> Client {
        Client::new(&self.url, None)
    }

    /// Wait until the mirror serves a checkpoint of at least `size`
    /// entries of `board`'s election `id` carrying its valid cosignature;
    /// returns that note.
    async fn cosigned(&self, board: &TestBoard, id: &str, size: u64) -> String {
        let verifier = board.board.note_verifier();
        let cosigner =
            psephos_crypto::log::checkpoint::CosignatureVerifier::from_vkey(&self.witness.key)
                .unwrap();
        let deadline = Instant::now() + MIRROR_LIMIT;
        loop {
            if let Ok(note) = self.client().checkpoint(id).await {
                let (cp, found) =
                    verify_cosignatures(&note, &verifier, std::slice::from_ref(&cosigner))
                        .expect("the mirror serves a board-signed, validly cosigned checkpoint");
                if cp.size >= size && found.len() == 1 {
                    return note;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the mirror did not cosign {size} entries of {id} in {MIRROR_LIMIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn finish(mut self) {
        if self.follower.is_some() {
            self.stop_following(false).await;
        }
        let _ = self.stop_server.send(());
        self.server.await.unwrap();
        if let Some(mirror) = self.idle.take() {
            mirror.close().await;
        }
    }
}

/// An election whose manifest names `witness` with quorum 1, open for
/// `voters` voters (one plurality contest of 3 options).
async fn witnessed_election(
    board: &TestBoard,
    id: &str,
    witness: &Witness,
    voters: usize,
) -> SimElection {
    let mut e = SimElection::new(id, 3, 2, 3, voters);
    e.manifest.witnesses = vec![witness.clone()];
    e.manifest.witness_quorum = 1;
    e.setup_and_open(&board.client()).await.unwrap();
    e
}

/// Cast `voter`'s ballot for option `option` as the voting page does, at
/// the board whose base URL is `board_url` (the page's origin), and keep
/// the receipt the page keeps: `Receipt::accept` on the board's answer
/// and the entry line, then `naming(origin, &manifest)` (wasm
/// `accept_receipt`).
async fn cast_like_the_page(
    board_url: &str,
    id: &str,
    voter: &SigningKey,
    option: usize,
    seed: u64,
) -> Receipt {
    let (board_url, id, voter) = (board_url.to_owned(), id.to_owned(), voter.clone());
    blocking(move || {
        let client = BoardClient::new(&board_url).unwrap();
        let (election, info) = client.election(&id).unwrap();
        election.require_open().unwrap();
        let mut choice = vec![0u64; 3];
        choice[option] = 1;
        let ballot = PreparedBallot::new(
            &election,
            &Credential::from_key(voter),
            &[choice],
            &mut ChaCha20Rng::seed_from_u64(seed),
        )
        .unwrap();
        let answer = client
            .post_ballot(&id, ballot.post_json().unwrap())
            .unwrap();
        let line = client.entries(&id, answer.index, answer.index + 1).unwrap();
        Receipt::accept(
            &election.board,
            &info.key,
            &election.id,
            ballot.body_text(),
            &answer,
            line.trim_end(),
        )
        .unwrap()
        .naming(&board_url, &election.manifest)
    })
    .await
}

/// Save a receipt as the page offers it for download.
fn save(receipt: &Receipt, path: &Path) {
    std::fs::write(path, receipt.to_json()).unwrap();
}

/// What a run of `psephos-vote` gave.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn text(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

async fn psephos_vote(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Run {
    let args: Vec<OsString> = args.iter().map(|a| a.as_ref().to_owned()).collect();
    blocking(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_psephos-vote"))
            .args(&args)
            .output()
            .unwrap();
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
}

/// `psephos-vote check-receipt FILE`, no flags.
async fn check_receipt(file: &Path) -> Run {
    psephos_vote(&[&"check-receipt", &file]).await
}

/// The size of `client`'s latest checkpoint of `id`.
async fn size_of(client: &Client, id: &str) -> u64 {
    client.election_status(id).await.unwrap().size
}

/// SPEC.md §13.4–§13.5, §14.1: the page's receipt names the board and the
/// witness; checked with nothing but the file it waits for the witness's
/// cosignature (exit 3) and then is witnessed (exit 0).
async fn a_page_receipt_waits_for_the_witness_then_is_witnessed(
    board: &TestBoard,
    db: Option<&PgDatabase>,
    label: &str,
) {
    let label = format!("{label}-page");
    let scratch = Scratch::new(&label);
    let mut mirror = RunningMirror::start(board, db, "witness-a", 1201, &label).await;
    let id = "witnessed";
    let e = witnessed_election(board, id, &mirror.witness, 2).await;

    let receipt = cast_like_the_page(&board.url, id, &e.voters[0], 1, 1202).await;
    assert_eq!(receipt.board_url.as_deref(), Some(board.url.as_str()));
    assert_eq!(receipt.witnesses, vec![mirror.witness.clone()]);
    assert_eq!(receipt.witness_quorum, 1);
    let file = scratch.join("receipt.json");
    save(&receipt, &file);

    // The mirror has not followed yet: it has no checkpoint of the
    // election, so nothing is cosigned — wait and check again.
    let run = check_receipt(&file).await;
    assert_eq!(run.code, Some(3), "{}", run.text());
    assert!(
        run.stdout
            .contains("0 of the 1 witness cosignatures needed"),
        "{}",
        run.text()
    );
    assert!(
        run.stdout
            .contains(&format!("witness-a {}: unreachable", mirror.url)),
        "{}",
        run.text()
    );
    assert!(
        run.stdout.contains(&format!(
            "board {}: its log of {} entries holds the ballot",
            board.url, receipt.size
        )),
        "{}",
        run.text()
    );

    // It follows; once it has cosigned a checkpoint holding the ballot
    // the receipt is witnessed. Until then the check may still wait.
    mirror.follow();
    let deadline = Instant::now() + MIRROR_LIMIT;
    let run = loop {
        let run = check_receipt(&file).await;
        match run.code {
            Some(0) => break run,
            Some(3) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            _ => panic!("expected witnessed (0) or waiting (3): {}", run.text()),
        }
    };
    assert!(
        run.stdout
            .contains("cosigned by 1 of the 1 witnesses needed (witness-a)"),
        "{}",
        run.text()
    );
    assert!(
        run.stdout
            .contains(&format!("witness-a {}: its log of", mirror.url))
            && run.stdout.contains("holds the ballot"),
        "{}",
        run.text()
    );
    let note = mirror.cosigned(board, id, receipt.size).await;
    let verifier = board.board.note_verifier();
    let cosigned_size = open_checkpoint(&note, &verifier).unwrap().0.size;

    // The report as JSON.
    let run = psephos_vote(&[&"check-receipt", &file, &"--json"]).await;
    assert_eq!(run.code, Some(0), "{}", run.text());
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["verdict"], "witnessed", "{report}");
    assert_eq!(report["quorum"]["needed"], 1);
    assert_eq!(report["quorum"]["cosigned_by"], json!(["witness-a"]));
    assert!(report["quorum"]["size"].as_u64().unwrap() >= receipt.size);
    assert_eq!(report["evidence"], Value::Null);
    assert_eq!(report["servers"][0]["server"], "board");
    assert_eq!(report["servers"][0]["outcome"], "holds");
    assert_eq!(report["servers"][1]["server"], "witness-a");
    assert_eq!(report["servers"][1]["url"], json!(mirror.url));
    assert_eq!(report["servers"][1]["outcome"], "holds");
    assert_eq!(report["servers"][1]["size"], json!(cosigned_size));
    assert!(
        !scratch.join("receipt.json.evidence.json").exists(),
        "no fork, no evidence"
    );

    // A receipt of the old format names no board: the check asks for
    // one (exit 1, not a panic); with `--board` it checks (no quorum).
    let mut old = receipt.clone();
    old.board_url = None;
    old.witnesses.clear();
    old.witness_quorum = 0;
    let old_json = old.to_json();
    assert!(
        !old_json.contains("\"board_url\"")
            && !old_json.contains("\"witnesses\"")
            && !old_json.contains("\"witness_quorum\""),
        "{old_json}"
    );
    let old_file = scratch.join("old-receipt.json");
    std::fs::write(&old_file, &old_json).unwrap();
    let run = check_receipt(&old_file).await;
    assert_eq!(run.code, Some(1), "{}", run.text());
    assert!(run.stderr.contains("pass --board"), "{}", run.text());
    assert!(!run.stderr.contains("panicked"), "{}", run.text());
    let run = psephos_vote(&[&"check-receipt", &old_file, &"--board", &board.url]).await;
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert!(
        run.stdout.contains("names no witness quorum"),
        "{}",
        run.text()
    );

    assert_eq!(mirror.stop_following(false).await, None);
    mirror.finish().await;
}

/// SPEC.md §14.2 "fork / equivocation", §13.5 step 3, §10.9.4: see the
/// module documentation. The sizes at which the two histories are
/// compared are kept off powers of two (a consistency proof leaves the
/// root of such a size out: no evidence could be built, §13.5 step 3).
async fn a_receipt_from_a_forked_board_is_caught_and_the_witness_keeps_the_evidence(
    real: &TestBoard,
    db: Option<&PgDatabase>,
    label: &str,
) {
    let label = format!("{label}-fork");
    let scratch = Scratch::new(&label);
    let mut mirror = RunningMirror::start(real, db, "witness-a", 1301, &label).await;
    add_mirror(&real.board.store, &mirror.witness.key, Some(&mirror.url))
        .await
        .unwrap();
    let id = "forked";
    let e = witnessed_election(real, id, &mirror.witness, 6).await;
    let client = real.client();
    mirror.follow();

    // Voter 0 votes on the real board, before anything happens.
    let honest = cast_like_the_page(&real.url, id, &e.voters[0], 0, 1302).await;
    // Voter 5 votes again until the fork's receipt (one more entry) and
    // its close (two more) have sizes that are not powers of two.
    let mut shared = size_of(&client, id).await;
    while (shared + 1).is_power_of_two() || (shared + 2).is_power_of_two() {
        e.cast(&client, 5, &[vec![0, 0, 1]]).await.unwrap();
        shared = size_of(&client, id).await;
    }
    mirror.cosigned(real, id, shared).await;

    // The database is copied and served under the same key: one history
    // so far.
    let fork = real.fork().await.unwrap();
    let fork_client = fork.client();
    assert_eq!(
        fork_client.checkpoint(id).await.unwrap(),
        client.checkpoint(id).await.unwrap()
    );

    // On the fork voter 1 votes (the page the fork serves keeps a receipt
    // naming the fork), then voting closes there.
    let forked = cast_like_the_page(&fork.url, id, &e.voters[1], 1, 1303).await;
    assert_eq!(forked.board_url.as_deref(), Some(fork.url.as_str()));
    assert_eq!(forked.witnesses, vec![mirror.witness.clone()]);
    assert_eq!(forked.size, shared + 1);
    fork_client
        .admin(id, "close", json!({}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(size_of(&fork_client, id).await, shared + 2);

    // On the real board three others vote; the witness follows it.
    for v in 2..5 {
        e.cast(&client, v, &[vec![0, 1, 0]]).await.unwrap();
    }
    let real_size = size_of(&client, id).await;
    assert_eq!(real_size, shared + 3);
    let witness_note = mirror.cosigned(real, id, real_size).await;

    // The honest receipt, checked against the real board: witnessed.
    let honest_file = scratch.join("honest.json");
    save(&honest, &honest_file);
    let run = check_receipt(&honest_file).await;
    assert_eq!(run.code, Some(0), "{}", run.text());

    // The fork's receipt: fork, exit 4, evidence beside the receipt.
    let forked_file = scratch.join("forked.json");
    save(&forked, &forked_file);
    let run = check_receipt(&forked_file).await;
    assert_eq!(run.code, Some(4), "{}", run.text());
    assert!(run.stdout.contains("FORK"), "{}", run.text());
    let evidence_file = scratch.join("forked.json.evidence.json");
    assert!(
        run.stderr
            .contains(&format!("evidence written to {}", evidence_file.display())),
        "{}",
        run.text()
    );
    assert!(
        run.stderr
            .contains("witness witness-a: accepted the evidence"),
        "{}",
        run.text()
    );
    let evidence: Evidence =
        serde_json::from_slice(&std::fs::read(&evidence_file).unwrap()).unwrap();
    assert_eq!(evidence.verify(), Ok(()));
    assert_eq!(evidence.kind, EvidenceKind::PrefixMismatch);
    assert_eq!(evidence.election, id);
    assert_eq!(evidence.board_key, real.board.note_verifier().to_vkey());
    assert_eq!(evidence.held, forked.checkpoint, "the fork's receipt");
    assert_eq!(
        evidence.presented, witness_note,
        "the witness's checkpoint of the real history"
    );
    let proof = evidence.proof.as_ref().unwrap();
    assert_eq!((proof.old_size, proof.new_size), (shared + 1, real_size));

    // The witness keeps the evidence, serves it, and stops following and
    // cosigning the board.
    let served = mirror
        .client()
        .get_json(&format!("/api/v1/elections/{id}/equivocation"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(served, json!([evidence]));
    let info = mirror
        .client()
        .get_json("/api/v1/board")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info["mirror"]["halted"], true, "{info}");
    assert_eq!(
        info["mirror"]["alarms"][0]["kind"], "equivocation",
        "{info}"
    );
    assert_eq!(
        mirror.stop_following(true).await,
        Some(AlarmKind::Equivocation)
    );
    e.cast(&client, 2, &[vec![1, 0, 0]]).await.unwrap();
    let mut halted = mirror.idle.take().unwrap();
    let pass = halted.pass().await.unwrap();
    assert_eq!(pass.alarm, Some(AlarmKind::Equivocation));
    assert_eq!((pass.appended, pass.cosigned), (0, 0));
    mirror.idle = Some(halted);
    assert_eq!(
        mirror.client().checkpoint(id).await.unwrap(),
        witness_note,
        "nothing cosigned after the evidence"
    );

    // The honest receipt checked against the fork (`--board`): the fork's
    // checkpoint is not in the witness's history, a fork too.
    let other_evidence = scratch.join("fork-evidence.json");
    let run = psephos_vote(&[
        &"check-receipt",
        &honest_file,
        &"--board",
        &fork.url,
        &"--evidence",
        &other_evidence,
    ])
    .await;
    assert_eq!(run.code, Some(4), "{}", run.text());
    let evidence: Evidence =
        serde_json::from_slice(&std::fs::read(&other_evidence).unwrap()).unwrap();
    assert_eq!(evidence.verify(), Ok(()));
    assert_eq!(evidence.kind, EvidenceKind::PrefixMismatch);
    assert_eq!(
        (evidence.held.as_str(), evidence.presented.as_str()),
        (
            fork_client.checkpoint(id).await.unwrap().as_str(),
            witness_note.as_str()
        )
    );
    assert!(
        !scratch.join("honest.json.evidence.json").exists(),
        "--evidence names the file"
    );

    fork.finish().await;
    mirror.finish().await;
}
