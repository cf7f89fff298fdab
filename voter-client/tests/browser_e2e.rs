#![cfg(not(target_arch = "wasm32"))]

//! The voting page end to end in Debian's headless Chromium, driven over
//! WebDriver (chromedriver + fantoccini) against a real board with an open
//! election (`psephos_board::testkit`), the board serving the built bundle
//! itself (`Config::web`, as `psephos-board serve --web-dir` does): a
//! validation error, a mistyped credential, the credential loaded from a
//! file, choose, audit once (checked in the page), cast, receipt verified in
//! the page, the bundle hash recomputed in the page; then the public page
//! shows the timeline, finds the tracking code, checks the audit code and,
//! once tallied, shows the results. Screenshots go to
//! `target/screenshots/`; timings are printed (BENCHMARKS.md).
//!
//! Runs only with `PSEPHOS_BROWSER_TESTS=1` and a built bundle
//! (`voter-client/ci-browser.sh` does both).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use psephos_board::mirror::{add_mirror, Mirror, MirrorConfig};
use psephos_board::testkit::{plurality_contest, SimElection, TestBoard};
use psephos_crypto::ballot::{Contest, ContestOption};
use psephos_crypto::credential::encode_credential;
use psephos_voter::receipt::Receipt;
use psephos_voter::web::WebAssets;
use serde_json::json;

fn enabled() -> bool {
    std::env::var("PSEPHOS_BROWSER_TESTS").as_deref() == Ok("1")
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn browser() -> (Client, Driver) {
    let port = free_port();
    let driver = Driver(
        Command::new(
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into()),
        )
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (apt-get install chromium-driver)"),
    );
    let profile = tempfile_dir("chromium-profile");
    let caps = json!({
        "goog:chromeOptions": {
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=390,1400", format!("--user-data-dir={}", profile.display())]
        }
    });
    let caps: serde_json::Map<String, serde_json::Value> = caps.as_object().unwrap().clone();
    let mut last = None;
    for _ in 0..50 {
        // chromedriver speaks plain HTTP on loopback: no TLS stack needed.
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return (c, driver),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("chromedriver did not start: {last:?}");
}

fn tempfile_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("psephos-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn shot(c: &Client, name: &str) {
    let dir = workspace().join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{name}.png")),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
}

async fn wait_visible(c: &Client, id: &str) {
    for _ in 0..300 {
        let hidden: serde_json::Value = c
            .execute(
                &format!("const e = document.getElementById('{id}'); return !e || e.hidden;"),
                vec![],
            )
            .await
            .unwrap();
        if hidden == json!(false) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shot(c, &format!("timeout-{id}")).await;
    panic!("#{id} never became visible");
}

/// Put `value` into a field at once, as pasting does (WebDriver's typing
/// of a several-kilobyte audit code takes most of a minute).
async fn paste(c: &Client, id: &str, value: &str) {
    c.execute(
        "const e = document.getElementById(arguments[0]); e.value = arguments[1]; e.dispatchEvent(new Event('input', { bubbles: true }));",
        vec![json!(id), json!(value)],
    )
    .await
    .unwrap();
}

async fn click(c: &Client, locator: Locator<'_>) {
    c.find(locator).await.unwrap().click().await.unwrap();
}

/// The text of element `id` once it starts with `prefix` (the page fills it
/// in asynchronously), polling every 50 ms up to `tries` times; whatever it
/// says by then otherwise.
async fn text_starting_with(c: &Client, id: &str, prefix: &str, tries: u32) -> String {
    for _ in 0..tries {
        let t = text(c, id).await;
        if t.starts_with(prefix) {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    text(c, id).await
}

/// The `data-verdict` a receipt re-check leaves on `id` once it is done.
async fn recheck_verdict(c: &Client, id: &str) -> String {
    for _ in 0..600 {
        let v: serde_json::Value = c
            .execute(
                &format!("return document.getElementById('{id}').dataset.verdict || '';"),
                vec![],
            )
            .await
            .unwrap();
        if let Some(v) = v.as_str().filter(|v| !v.is_empty()) {
            return v.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    String::new()
}

async fn text(c: &Client, id: &str) -> String {
    c.find(Locator::Id(id)).await.unwrap().text().await.unwrap()
}

async fn ready(c: &Client) -> f64 {
    c.wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("body[data-ready='1']"))
        .await
        .unwrap();
    let ms: serde_json::Value = c
        .execute(
            "return performance.getEntriesByName('psephos-ready')[0].startTime;",
            vec![],
        )
        .await
        .unwrap();
    ms.as_f64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vote_audit_cast_and_find_the_ballot_in_a_real_browser() {
    if !enabled() {
        eprintln!("skipped: set PSEPHOS_BROWSER_TESTS=1 (voter-client/ci-browser.sh)");
        return;
    }
    let dist = std::env::var("PSEPHOS_WEB_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace().join("voter-client/web/dist"));
    let assets =
        WebAssets::from_dir(&dist).expect("build the bundle first: voter-client/build-web.sh");
    let bundle = hex::encode(assets.bundle_sha256());

    // A board serving the bundle, as `psephos-board serve --web-dir` does.
    let data = tempfile_dir("board");
    let mut config = psephos_board::Config::new(&data);
    config.limits.rate_per_sec = 0.0;
    config.web = Some(assets);
    let board = TestBoard::start(config).await.unwrap();
    let base = board.url.clone();
    let client = board.client();
    let budget = Contest {
        id: "budget".into(),
        title: "Budget".into(),
        options: ["Parks", "Roads", "Schools"]
            .iter()
            .map(|o| ContestOption {
                id: o.to_lowercase(),
                label: (*o).into(),
            })
            .collect(),
        min_selections: 0,
        max_selections: 10,
        max_per_option: 5,
    };
    let mut sim = SimElection::with_contests(
        "town-2026",
        3,
        2,
        vec![plurality_contest("mayor", 5), budget],
        2,
    );
    sim.create(&client).await.unwrap();
    sim.ceremony(&client).await.unwrap();
    client
        .post_ok(&sim.id, &sim.credential_list().unwrap())
        .await
        .unwrap();
    // Opened without naming a hash: the board names the bundle it serves.
    client
        .admin(&sim.id, "open", json!({}))
        .await
        .unwrap()
        .unwrap();

    let (c, _driver) = browser().await;
    c.goto(&format!("{base}/elections/town-2026/vote"))
        .await
        .unwrap();
    let ready_ms = ready(&c).await;
    assert_eq!(text(&c, "title").await, "Election town-2026");
    assert_eq!(text(&c, "bundle-log").await, bundle);

    // Validation before encryption: no credential, then no choice.
    click(&c, Locator::Id("encrypt")).await;
    assert!(text(&c, "credential-error")
        .await
        .contains("Enter your voting credential"));
    // A mistyped credential is caught by its checksum, with a sentence.
    let code = encode_credential(&sim.voters[0]).to_string();
    let mut typo = code.clone();
    let last = typo.pop().unwrap();
    typo.push(if last == '0' { '1' } else { '0' });
    c.find(Locator::Id("credential"))
        .await
        .unwrap()
        .send_keys(&typo)
        .await
        .unwrap();
    click(&c, Locator::Id("encrypt")).await;
    assert!(text(&c, "credential-error")
        .await
        .contains("not a valid voting credential"));
    // The credential loaded from a file replaces what was typed.
    let cred_file = tempfile_dir("credential").join("voter.credential");
    std::fs::write(&cred_file, format!("{code}\n")).unwrap();
    c.find(Locator::Id("credential-file"))
        .await
        .unwrap()
        .send_keys(&cred_file.display().to_string())
        .await
        .unwrap();
    for _ in 0..100 {
        if c.find(Locator::Id("credential"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref()
            == Some(code.as_str())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let loaded = c
        .find(Locator::Id("credential"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(loaded.as_deref(), Some(code.as_str()));
    c.find(Locator::Id("c1-o0"))
        .await
        .unwrap()
        .send_keys("7")
        .await
        .unwrap();
    click(&c, Locator::Id("encrypt")).await;
    wait_visible(&c, "choice-errors").await;
    let errors = text(&c, "choice-errors").await;
    assert!(
        errors
            .contains("In “Contest mayor”, choose exactly 1 option; you have not chosen any yet."),
        "{errors}"
    );
    assert!(
        errors.contains("“Parks” can get at most 5 points, not 7"),
        "{errors}"
    );
    shot(&c, "vote-1-validation").await;

    // Valid choices (keyboard: space on the radio), encrypt.
    c.find(Locator::Id("c0-o2"))
        .await
        .unwrap()
        .send_keys(" ")
        .await
        .unwrap();
    let parks = c.find(Locator::Id("c1-o0")).await.unwrap();
    parks.clear().await.unwrap();
    parks.send_keys("3").await.unwrap();
    click(&c, Locator::Id("encrypt")).await;
    wait_visible(&c, "step-decide").await;
    let first_code = text(&c, "short-code").await;
    assert_eq!(first_code.len(), 19, "{first_code}");
    let encrypt_ms: f64 = c
        .execute("return Number(document.body.dataset.encryptMs);", vec![])
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    shot(&c, "vote-2-tracking-code").await;

    // Audit once: checked in the page, then a fresh encryption.
    click(&c, Locator::Id("audit")).await;
    wait_visible(&c, "step-audit").await;
    let verdict = text(&c, "audit-result").await;
    assert!(verdict.starts_with("The audit passed"), "{verdict}");
    let report = text(&c, "audit-report").await;
    assert!(
        report.contains("Contest mayor: Option 2") && report.contains("Budget: Parks: 3"),
        "{report}"
    );
    let second_code = text(&c, "short-code").await;
    assert_ne!(first_code, second_code);
    let audit_code: String = c
        .find(Locator::Id("audit-code"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(audit_code.starts_with("psephos-audit-v1:"));
    shot(&c, "vote-3-audit").await;

    // Cast; the page checks the receipt.
    click(&c, Locator::Id("cast")).await;
    wait_visible(&c, "step-done").await;
    assert_eq!(
        text(&c, "h-done").await,
        "Your ballot is in the public record"
    );
    assert_eq!(text(&c, "done-code").await, second_code);
    let receipt: String = c
        .find(Locator::Id("receipt"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    let receipt_json = receipt;
    let receipt = Receipt::from_json(&receipt_json).unwrap();
    receipt.verify(&receipt.board().unwrap()).unwrap();
    assert_eq!(receipt.short_code, second_code);
    // The page names itself as the board, so the receipt re-checks with no flags.
    assert_eq!(receipt.board_url.as_deref(), Some(base.as_str()));
    // After casting the page asked the witnesses: this election names none.
    assert_eq!(recheck_verdict(&c, "witness-status").await, "witnessed");
    let status = text(&c, "witness-status").await;
    assert!(status.contains("names no witness quorum"), "{status}");
    shot(&c, "vote-4-receipt").await;

    // The page hashes the code it loaded and finds the record's bundle hash.
    click(&c, Locator::Id("check-bundle")).await;
    let computed = text_starting_with(&c, "bundle-result", "Computed", 200).await;
    assert_eq!(
        computed,
        format!("Computed: {bundle} — matches the election record.")
    );

    // In-page timing of encrypt + prove alone (WASM, this browser).
    let bench: serde_json::Value = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             import('/assets/psephos_voter.js').then((m) => done(m.bench_encrypt(50)));",
            vec![],
        )
        .await
        .unwrap();

    // The public page: finds the ballot, shows the checkpoint.
    c.goto(&format!("{base}/elections/town-2026"))
        .await
        .unwrap();
    ready(&c).await;
    let timeline = text(&c, "timeline").await;
    assert!(
        timeline.contains("Voting open 20") && timeline.contains("Set up 20"),
        "{timeline}"
    );
    c.find(Locator::Id("search"))
        .await
        .unwrap()
        .send_keys(&second_code)
        .await
        .unwrap();
    click(&c, Locator::Css("#search-form button")).await;
    let found = text_starting_with(&c, "search-result", "Found", 100).await;
    assert!(
        found.contains(&format!("entry {}", receipt.index)),
        "{found}"
    );
    paste(&c, "audit-code", &audit_code).await;
    click(&c, Locator::Css("#audit-form button")).await;
    wait_visible(&c, "audit-report").await;
    assert!(text(&c, "audit-result")
        .await
        .starts_with("The audit passed"));
    // A saved receipt re-checked later from the election page.
    paste(&c, "receipt-text", &receipt_json).await;
    click(&c, Locator::Css("#receipt-form button")).await;
    assert_eq!(recheck_verdict(&c, "receipt-result").await, "witnessed");
    let lines = text(&c, "receipt-report").await;
    assert!(
        lines.contains("Board (") && lines.contains("holds the ballot"),
        "{lines}"
    );
    shot(&c, "election-page").await;

    // A mirror (`psephos-board mirror --web-dir`) serves the same pages over
    // its copy of the log: the audit code checks there too, and the
    // checkpoint shows the mirror's cosignature.
    let mut mconfig = MirrorConfig::new(&base, tempfile_dir("mirror"));
    mconfig.limits.rate_per_sec = 0.0;
    mconfig.web = Some(WebAssets::from_dir(&dist).unwrap());
    let mut mirror = Mirror::open(mconfig).await.unwrap();
    add_mirror(&board.board.store, &mirror.vkey(), None)
        .await
        .unwrap();
    mirror.pass().await.unwrap();
    let mirror_app = mirror.app();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mirror_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            mirror_app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    c.goto(&format!("{mirror_url}/elections/town-2026"))
        .await
        .unwrap();
    ready(&c).await;
    assert!(text(&c, "checkpoint").await.contains("psephos-mirror"));
    paste(&c, "audit-code", &audit_code).await;
    click(&c, Locator::Css("#audit-form button")).await;
    wait_visible(&c, "audit-report").await;
    assert!(text(&c, "audit-result")
        .await
        .starts_with("The audit passed"));
    shot(&c, "mirror-election-page").await;

    let console_errors: serde_json::Value = c
        .execute("return document.querySelectorAll('.bad').length;", vec![])
        .await
        .unwrap();
    assert_eq!(console_errors, json!(0));

    // Once tallied, the public page shows the result as bars with counts.
    sim.close_and_tally(&client, &[1, 2]).await.unwrap();
    c.goto(&format!("{base}/elections/town-2026"))
        .await
        .unwrap();
    ready(&c).await;
    wait_visible(&c, "results-section").await;
    let results = text(&c, "results").await;
    assert!(
        results.contains("Option 2\n1") || results.contains("Option 2 1"),
        "{results}"
    );
    shot(&c, "election-results").await;

    let wasm_bytes = std::fs::read(dist.join("psephos_voter_bg.wasm"))
        .unwrap()
        .len();
    println!("FIGURES page_ready_ms={ready_ms:.0} encrypt_in_page_ms={encrypt_ms:.1} bench_encrypt_ms={} wasm_bytes={wasm_bytes}", bench);
    c.close().await.unwrap();
    board.finish().await;
}
