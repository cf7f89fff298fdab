//! # psephos-voter
//!
//! The voter's side of Psephos (DESIGN.md §1, §6; SPEC.md §13): one
//! library shared by the voting page (compiled to WebAssembly) and the
//! `psephos-vote` command line.
//!
//! | module | does | spec |
//! |---|---|---|
//! | [`election`] | learns an election from the log: replays entry 0 to the joint key through the election's rules (`psephos_crypto::election`), checked against the signed checkpoint | SPEC.md §13.1, §10.3, §10.7 |
//! | [`choice`] | contest rules and choice errors in words; the CLI's choice syntax | SPEC.md §6.1 |
//! | [`credential`] | the voter's Ed25519 credential | SPEC.md §12 |
//! | [`cast`] | encrypt + sign a ballot, tracking code, Benaloh audit codes | SPEC.md §13.2, §13.3 |
//! | [`receipt`] | receipts, their inclusion check, consistency with the board and mirrors | SPEC.md §13.4, §13.5 |
//! | [`recheck`] | a receipt re-checked against the board and each witness: one history, the cosignature quorum, fork evidence | SPEC.md §13.5, §14.1, §14.2 |
//! | [`timeline`] | when the election reached each state, from the log's entry times | SPEC.md §10.6 |
//! | [`bundle`] | the page bundle hash | SPEC.md §13.6 |
//! | `web` (feature `server`) | the router the board mounts for the pages | SPEC.md §13.6 |
//! | `http` (native) | the board API over HTTP for the CLI | SPEC.md §10 |
//!
//! The plaintext choices never leave the device: the only things sent are
//! the signed ballot post and read-only requests.

pub mod api;
pub mod bundle;
pub mod cast;
pub mod choice;
pub mod credential;
pub mod election;
pub mod error;
pub mod receipt;
pub mod recheck;
pub mod timeline;

#[cfg(not(target_arch = "wasm32"))]
pub mod http;
#[cfg(target_arch = "wasm32")]
pub mod wasm;
#[cfg(all(feature = "server", not(target_arch = "wasm32")))]
pub mod web;

pub use error::{Result, VoterError};
