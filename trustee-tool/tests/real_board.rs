//! The issue-4 scenarios against the real bulletin board
//! (`psephos_board::testkit`, on SQLite in a temporary directory and on a
//! fresh PostgreSQL database), spoken to over HTTP by the tool's own client.

mod common;

use common::Admin;
use psephos_board::testkit::TestBoard;
use psephos_crypto::record::Manifest;
use psephos_crypto::wire::{Created, Receipt};
use psephos_trustee::board::{AdminClient, HttpBoard};
use psephos_trustee::Result;

impl Admin for AdminClient {
    fn create(&self, id: &str, manifest: &Manifest) -> Result<Created> {
        self.create_election(id, manifest)
    }
    fn close_commits(&self, id: &str) -> Result<Receipt> {
        AdminClient::close_commits(self, id)
    }
    fn finalize(&self, id: &str) -> Result<Receipt> {
        self.finalize_keys(id)
    }
    fn open(&self, id: &str) -> Result<Receipt> {
        AdminClient::open(self, id, &[7; 32])
    }
    fn close(&self, id: &str) -> Result<Receipt> {
        AdminClient::close(self, id)
    }
}

/// Which store the board runs on.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// Run `f` with a fresh board serving on a loopback port. The board runs
/// on its own runtime; the tool's blocking client is called from this
/// thread. Setup failures come back as errors so the test reports them. A
/// PostgreSQL board is skipped when no server answers
/// (`PSEPHOS_TEST_POSTGRES_URL`; `PSEPHOS_REQUIRE_POSTGRES=1` fails instead).
fn with_board(backend: Backend, f: impl FnOnce(&HttpBoard, &AdminClient)) -> TestResult {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let board = match backend {
        Backend::Sqlite => rt.block_on(TestBoard::sqlite())?,
        Backend::Postgres => match rt.block_on(TestBoard::postgres())? {
            Some(board) => board,
            None => return Ok(()),
        },
    };
    let http = HttpBoard::new(&board.url)?;
    let admin = AdminClient::new(&board.url, &board.admin_token)?;
    f(&http, &admin);
    rt.block_on(board.finish());
    Ok(())
}

type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// One test per backend for each scenario.
macro_rules! on_both_backends {
    ($($name:ident => $scenario:path),* $(,)?) => {$(
        mod $name {
            use super::*;

            #[test]
            fn sqlite() -> TestResult {
                with_board(Backend::Sqlite, $scenario)
            }

            #[test]
            fn postgres() -> TestResult {
                with_board(Backend::Postgres, $scenario)
            }
        }
    )*};
}

on_both_backends! {
    full_ceremony_n5_t3_against_the_board_then_decryption_by_two_threshold_sets
        => common::full_ceremony_and_decryption,
    cheating_dealer_is_disqualified_by_the_board_after_a_complaint
        => common::cheating_dealer_is_disqualified,
    trustee_absent_from_round1_is_left_out_by_finalize_keys
        => common::absent_trustee_is_left_out,
    voting_cannot_open_on_the_board_before_t_acknowledgements
        => common::voting_cannot_open_before_t_acknowledgements,
    trustee_that_never_commits_is_cut_off_by_the_boards_close_commits
        => common::trustee_that_never_commits_is_cut_off,
}
