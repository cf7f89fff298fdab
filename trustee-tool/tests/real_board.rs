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
/// thread.
fn with_board(f: impl FnOnce(&HttpBoard, &AdminClient)) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let board = rt.block_on(TestBoard::sqlite()).unwrap();
    let http = HttpBoard::new(&board.url).unwrap();
    let admin = AdminClient::new(&board.url, &board.admin_token).unwrap();
    f(&http, &admin);
    rt.block_on(board.finish());
}

#[test]
fn full_ceremony_n5_t3_against_the_board_then_decryption_by_two_threshold_sets() {
    with_board(|b, a| common::full_ceremony_and_decryption(b, a));
}

#[test]
fn cheating_dealer_is_disqualified_by_the_board_after_a_complaint() {
    with_board(|b, a| common::cheating_dealer_is_disqualified(b, a));
}

#[test]
fn trustee_absent_from_round1_is_left_out_by_finalize_keys() {
    with_board(|b, a| common::absent_trustee_is_left_out(b, a));
}
