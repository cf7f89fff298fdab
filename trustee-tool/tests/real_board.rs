//! The issue-4 scenarios against the real bulletin board
//! (`psephos_board::testkit`, SQLite in a temporary directory), spoken to
//! over HTTP by the tool's own client.

mod common;

use common::Admin;
use psephos_board::testkit::TestBoard;
use psephos_crypto::record::Manifest;
use psephos_trustee::board::{AdminClient, HttpBoard};
use psephos_trustee::Result;

impl Admin for AdminClient {
    fn create(&self, id: &str, manifest: &Manifest) -> Result<()> {
        self.create_election(id, manifest).map(|_| ())
    }
    fn close_commits(&self, id: &str) -> Result<()> {
        AdminClient::close_commits(self, id).map(|_| ())
    }
    fn finalize(&self, id: &str) -> Result<()> {
        self.finalize_keys(id).map(|_| ())
    }
    fn open(&self, id: &str) -> Result<()> {
        AdminClient::open(self, id, &[7; 32]).map(|_| ())
    }
    fn close(&self, id: &str) -> Result<()> {
        AdminClient::close(self, id).map(|_| ())
    }
}

/// Run `f` with a fresh board serving on a loopback port. The board runs
/// on its own runtime; the tool's blocking client is called from this
/// thread. Setup failures come back as errors so the test reports them.
fn with_board(f: impl FnOnce(&HttpBoard, &AdminClient)) -> TestResult {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let board = rt.block_on(TestBoard::sqlite())?;
    let http = HttpBoard::new(&board.url)?;
    let admin = AdminClient::new(&board.url, &board.admin_token)?;
    f(&http, &admin);
    rt.block_on(board.finish());
    Ok(())
}

type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

#[test]
fn full_ceremony_n5_t3_against_the_board_then_decryption_by_two_threshold_sets() -> TestResult {
    with_board(common::full_ceremony_and_decryption)
}

#[test]
fn cheating_dealer_is_disqualified_by_the_board_after_a_complaint() -> TestResult {
    with_board(common::cheating_dealer_is_disqualified)
}

#[test]
fn trustee_absent_from_round1_is_left_out_by_finalize_keys() -> TestResult {
    with_board(common::absent_trustee_is_left_out)
}

#[test]
fn voting_cannot_open_on_the_board_before_t_acknowledgements() -> TestResult {
    with_board(common::voting_cannot_open_before_t_acknowledgements)
}

#[test]
fn trustee_that_never_commits_is_cut_off_by_the_boards_close_commits() -> TestResult {
    with_board(common::trustee_that_never_commits_is_cut_off)
}
