//! Helpers shared by the integration tests: running the real binary, and
//! running one test body on both storage backends.

#![allow(dead_code, unused_macros)]
// Test support: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The built `psephos-board` binary.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_psephos-board")
}

/// `psephos-board init`; returns the admin token.
pub fn init(data_dir: &Path, database_url: Option<&str>) -> String {
    let mut cmd = Command::new(binary());
    cmd.args(["init", "--data-dir"]).arg(data_dir);
    match database_url {
        Some(u) => cmd.env("DATABASE_URL", u),
        None => cmd.env_remove("DATABASE_URL"),
    };
    let out = cmd.output().expect("run init");
    assert!(
        out.status.success(),
        "init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.trim().rsplit(' ').next().unwrap().to_owned()
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Start `psephos-board serve` and wait until `/healthz` answers. The
/// caller owns the child and waits on it.
#[allow(clippy::zombie_processes)]
pub async fn serve(data_dir: &Path, database_url: Option<&str>, port: u16) -> Child {
    let mut cmd = Command::new(binary());
    cmd.args(["serve", "--rate-limit", "0", "--data-dir"])
        .arg(data_dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    match database_url {
        Some(u) => cmd.env("DATABASE_URL", u),
        None => cmd.env_remove("DATABASE_URL"),
    };
    let child = cmd.spawn().expect("spawn serve");
    let url = format!("http://127.0.0.1:{port}/healthz");
    let start = Instant::now();
    loop {
        if let Ok(r) = reqwest::get(&url).await {
            if r.status().is_success() {
                return child;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "board did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Run a test body on a fresh SQLite board and a fresh PostgreSQL board.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let board = psephos_board::testkit::TestBoard::sqlite().await.unwrap();
                super::$name(&board).await;
                board.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(board) = psephos_board::testkit::TestBoard::postgres().await.unwrap() else {
                    return;
                };
                super::$name(&board).await;
                board.finish().await;
            }
        }
    )*};
}
