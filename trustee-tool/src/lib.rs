//! # psephos-trustee
//!
//! The program election trustees and the credential authority run on their
//! own machines (SPEC.md §8.5, §12): the threshold key ceremony, the
//! partial decryption of the tally, and the voters' credentials, all over
//! the bulletin board's HTTP API. This library holds the logic so that the
//! demo and the tests drive it in-process; the `psephos-trustee` binary is
//! a thin command line around it.
//!
//! | module | does | SPEC.md |
//! |---|---|---|
//! | [`keyfile`] — age-encrypted key files, atomic writes | secrets at rest | §8.5.6 |
//! | [`state`] — what a trustee key file holds | resumable steps | §8.5.6 |
//! | [`log_memory`] — the checkpoint and tally a trustee remembers; fork and rollback checks, evidence | §14.2, §10.9.4 |
//! | [`board`] — [`board::BoardClient`], HTTP client | §10.1 |
//! | [`view`] — the log, chain- and signature-checked, replayed through the election state machine | §9, §8.5, §10.3–§10.6 |
//! | [`ceremony`] — the ceremony typestate, this trustee's share checks and `x_l` | §8.5.1–§8.5.4 |
//! | [`steps`] — `register`, `round1`, `round2`, `ack`, `decrypt`, `status` | §8.5 |
//! | [`tally`] — the encrypted tally the state machine fixed at close | §8.4, §8.5.5 |
//! | [`credentials`] — the credential authority | §12 |
//! | [`memory_board`] — an in-memory board for unit tests | — |
//!
//! A trustee's flow, with the board at `$B`:
//!
//! ```text
//! psephos-trustee keygen --out trustee.key        # prints the key for the manifest
//! psephos-trustee register --board $B --election E --key trustee.key
//! psephos-trustee round1   --board $B --election E --key trustee.key --wait
//! psephos-trustee round2   --board $B --election E --key trustee.key --wait
//! psephos-trustee ack      --board $B --election E --key trustee.key --wait
//! psephos-trustee decrypt  --board $B --election E --key trustee.key --wait
//! ```

pub mod board;
pub mod ceremony;
pub mod credentials;
pub mod error;
pub mod keyfile;
pub mod log_memory;
pub mod memory_board;
pub mod state;
pub mod steps;
pub mod tally;
pub mod view;

pub use error::{Result, TrusteeError};
