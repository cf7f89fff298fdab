//! The encrypted tally a trustee decrypts (SPEC.md §8.5.5): the one the
//! election state machine fixed at `voting_closed` while this tool replayed
//! the log (§10.5, §11.7, §11.8) — the last valid ballot of each listed
//! credential, in the voting window, its ciphertexts weighted by the
//! credential's weight and summed position by position. The counted set,
//! the weights, the `R`-reuse rule and the sum are the state machine's; so
//! are the count bound of §8.4 (`Election::count_bounds`) and the
//! combination of the first `t` valid partial decryptions into the result
//! (`Election::result_due`, and the check of the board's `result` entry).

use std::sync::Arc;

use psephos_crypto::elgamal::Ciphertext;

use crate::view::{ElectionView, Skipped};

/// The tally of a closed election, as the log defines it.
#[derive(Clone, Debug)]
pub struct EncryptedTally {
    /// One ciphertext per option, contests then options.
    pub ciphertexts: Arc<Vec<Ciphertext>>,
    /// Credentials with a counted ballot.
    pub counted: u64,
    /// `W`: the sum of their weights (SPEC.md §8.4).
    pub counted_weight: u64,
    /// Ballot entries that do not count because they break a rule (an
    /// honest board appends none), in log order.
    pub rejected: Vec<Skipped>,
}

impl EncryptedTally {
    /// The tally fixed at `voting_closed`; `None` before.
    pub fn of(view: &ElectionView) -> Option<Self> {
        let state = view.election();
        let ciphertexts = state.tally()?.clone();
        let votes = state.votes();
        Some(EncryptedTally {
            ciphertexts,
            counted: votes.counted_credentials(),
            counted_weight: votes.counted_weight(),
            rejected: view.skipped("ballot").cloned().collect(),
        })
    }
}
