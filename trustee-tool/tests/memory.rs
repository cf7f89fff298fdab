//! The issue-4 scenarios against the in-memory board, plus the cases only
//! an in-memory board can stage (an invalid ballot on the log).

mod common;

use common::{Admin, Party};
use psephos_crypto::record::Manifest;
use psephos_trustee::memory_board::MemoryBoard;
use psephos_trustee::Result;

impl Admin for MemoryBoard {
    fn create(&self, id: &str, manifest: &Manifest) -> Result<()> {
        self.create_election(id, manifest)
    }
    fn finalize(&self, id: &str) -> Result<()> {
        self.finalize_keys(id)
    }
    fn open(&self, id: &str) -> Result<()> {
        MemoryBoard::open(self, id)
    }
    fn close(&self, id: &str) -> Result<()> {
        MemoryBoard::close(self, id)
    }
}

#[test]
fn full_ceremony_n5_t3_then_decryption_by_two_different_threshold_sets() {
    let board = MemoryBoard::new();
    common::full_ceremony_and_decryption(&board, &board);
}

#[test]
fn cheating_dealer_is_caught_by_complaint_and_disqualified() {
    let board = MemoryBoard::new();
    common::cheating_dealer_is_disqualified(&board, &board);
}

#[test]
fn trustee_absent_from_round1_is_left_out_and_can_still_decrypt() {
    let board = MemoryBoard::new();
    common::absent_trustee_is_left_out(&board, &board);
}

#[test]
fn key_file_of_another_trustee_is_refused() {
    let board = MemoryBoard::new();
    let mut party = Party::new(3);
    let mut outsider = Party::new(1);
    board
        .create(&common::unique_id("x"), &party.manifest(2))
        .unwrap();
    let id = common::unique_id("y");
    board.create(&id, &party.manifest(2)).unwrap();
    let err = psephos_trustee::steps::register(&board, outsider.trustee(1), &id).unwrap_err();
    assert!(
        err.to_string().contains("is not a trustee of election"),
        "{err}"
    );
    let _ = party.trustee(1);
}
