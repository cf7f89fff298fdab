#![cfg(not(target_arch = "wasm32"))]

//! The library and the `psephos-vote` command line against a real board
//! (`psephos_board::testkit`): learn the election from the signed log,
//! audit a ballot, cast one, check the receipt and its consistency as the
//! log grows (SPEC.md §13.1–§13.5).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use psephos_board::testkit::{plurality_contest, SimElection, TestBoard};
use psephos_crypto::ballot::{Contest, ContestOption};
use psephos_crypto::credential::encode_credential;
use psephos_voter::cast::{check_audit_code, PreparedBallot};
use psephos_voter::credential::Credential;
use psephos_voter::http::BoardClient;
use psephos_voter::receipt::{check_consistency, Consistency, Receipt};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn score_contest() -> Contest {
    Contest {
        id: "budget".into(),
        title: "Budget".into(),
        options: ["parks", "roads", "schools"]
            .iter()
            .map(|o| ContestOption {
                id: (*o).into(),
                label: o.to_uppercase(),
            })
            .collect(),
        min_selections: 0,
        max_selections: 10,
        max_per_option: 5,
    }
}

async fn open_election(board: &TestBoard) -> SimElection {
    let mut e = SimElection::with_contests(
        "e1",
        3,
        2,
        vec![plurality_contest("mayor", 3), score_contest()],
        4,
    );
    e.setup_and_open(&board.client()).await.unwrap();
    e
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_cast_and_receipt_checks_against_a_running_board() {
    let board = TestBoard::sqlite().await.unwrap();
    let sim = open_election(&board).await;
    let url = board.url.clone();
    let code = encode_credential(&sim.voters[0]).to_string();
    let other = encode_credential(&sim.voters[1]).to_string();
    let sim_client = board.client();

    let (receipt, audit_report) = blocking({
        let url = url.clone();
        move || {
            let client = BoardClient::new(&url).unwrap();
            let (election, info) = client.election("e1").unwrap();
            assert_eq!(election.state, "open");
            let credential = Credential::parse(&code).unwrap();
            let choices = vec![vec![0, 1, 0], vec![5, 0, 3]];
            let mut rng = ChaCha20Rng::seed_from_u64(501);

            // Audit: the audit code re-encrypts to the ballot and names the choices.
            let audited = PreparedBallot::new(&election, &credential, &choices, &mut rng).unwrap();
            let audit = audited.with_board_url(&url).audit().unwrap();
            let report = check_audit_code(&election, &audit.0).unwrap();

            // Cast a fresh one; the receipt checks out against the entry.
            let ballot = PreparedBallot::new(&election, &credential, &choices, &mut rng).unwrap();
            assert_ne!(report.tracking_code, hex::encode(ballot.tracking_code()));
            let answer = client
                .post_ballot("e1", ballot.post_json().unwrap())
                .unwrap();
            let line = client
                .entries("e1", answer.index, answer.index + 1)
                .unwrap();
            let mut receipt = Receipt::accept(
                &election.board,
                &info.key,
                "e1",
                ballot.body_text(),
                &answer,
                line.trim_end(),
            )
            .unwrap();
            receipt.board_url = Some(url.clone());
            assert_eq!(receipt.short_code, ballot.short_code());

            // A receipt for a body other than the one sent is refused.
            let other_ballot = PreparedBallot::new(
                &election,
                &Credential::parse(&other).unwrap(),
                &choices,
                &mut rng,
            )
            .unwrap();
            assert!(Receipt::accept(
                &election.board,
                &info.key,
                "e1",
                other_ballot.body_text(),
                &answer,
                line.trim_end()
            )
            .is_err());
            (receipt, report)
        }
    })
    .await;
    assert_eq!(
        audit_report.contests[0].values[1],
        ("Option 1".to_string(), 1)
    );
    assert!(
        audit_report
            .to_text()
            .contains("Budget: PARKS: 5, SCHOOLS: 3"),
        "{}",
        audit_report.to_text()
    );

    // The log grows; the board's newer checkpoint extends the receipt's.
    sim.cast(&sim_client, 2, &[vec![1, 0, 0], vec![0, 0, 0]])
        .await
        .unwrap();
    sim.cast(&sim_client, 3, &[vec![0, 0, 1], vec![1, 1, 1]])
        .await
        .unwrap();
    let outcome = blocking({
        let receipt = receipt.clone();
        let url = url.clone();
        move || {
            let client = BoardClient::new(&url).unwrap();
            let identity = receipt.board().unwrap();
            receipt.verify(&identity).unwrap();
            let note = client.checkpoint("e1").unwrap();
            let latest = identity.open_checkpoint("e1", &note).unwrap();
            let proof = client.consistency("e1", receipt.size, latest.size).unwrap();
            check_consistency(&receipt, &identity, &note, Some(&proof)).unwrap()
        }
    })
    .await;
    assert!(
        matches!(outcome, Consistency::Consistent { size, .. } if size == receipt.size + 2),
        "{outcome:?}"
    );

    // A tampered receipt fails on its own.
    let mut bad = receipt.clone();
    bad.index += 1;
    assert!(bad.verify(&receipt.board().unwrap()).is_err());
    board.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_casts_audits_and_checks_receipts() {
    let board = TestBoard::sqlite().await.unwrap();
    let sim = open_election(&board).await;
    let dir = std::env::temp_dir().join(format!("psephos-vote-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cred = dir.join("voter.credential");
    std::fs::write(&cred, encode_credential(&sim.voters[0]).as_bytes()).unwrap();
    let receipt_file = dir.join("receipt.json");
    let url = board.url.clone();
    let exe = env!("CARGO_BIN_EXE_psephos-vote");

    let run =
        move |args: Vec<String>| blocking(move || Command::new(exe).args(&args).output().unwrap());
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let cred_s = cred.to_string_lossy().to_string();
    let receipt_s = receipt_file.to_string_lossy().to_string();

    // A choice that breaks the rules: a sentence, nothing cast.
    let out = run(s(&[
        "cast",
        "--board",
        &url,
        "--election",
        "e1",
        "--credential",
        &cred_s,
        "--choose",
        "mayor=o0,o1",
    ]))
    .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("choose exactly 1 option; you chose 2"),
        "{err}"
    );

    // Audit, then check the code on "another device".
    let out = run(s(&[
        "cast",
        "--audit",
        "--board",
        &url,
        "--election",
        "e1",
        "--credential",
        &cred_s,
        "--choose",
        "mayor=o2",
        "--choose",
        "budget=roads:4",
    ]))
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let out = run(s(&["audit-check", &code])).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Audit passed")
            && text.contains("Contest mayor: Option 2")
            && text.contains("ROADS: 4"),
        "{text}"
    );

    // Cast, then check the receipt against the board (and the board as a "mirror").
    let out = run(s(&[
        "cast",
        "--board",
        &url,
        "--election",
        "e1",
        "--credential",
        &cred_s,
        "--choose",
        "mayor=o1",
        "--receipt",
        &receipt_s,
    ]))
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Your ballot is in the public record"));
    sim.cast(&board.client(), 1, &[vec![1, 0, 0], vec![0, 0, 0]])
        .await
        .unwrap();
    let out = run(s(&["check-receipt", &receipt_s, "--mirror", &url])).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("board") && text.contains("holds the ballot"),
        "{text}"
    );

    std::fs::remove_dir_all(&dir).ok();
    board.finish().await;
}
