//! # psephos-board
//!
//! The bulletin board (SPEC.md §10): one append-only log per election, with
//! a hash chain, an RFC 6962 Merkle tree, signed C2SP checkpoints and
//! receipts given only after the database commit.
//!
//! | module | SPEC.md |
//! |---|---|
//! | [`api`] — HTTP endpoints, limits | §10.1, §10.7 |
//! | [`election`] — state, rules, state machine | §10.2–§10.6 |
//! | [`verifier`] — batched ballot verification | §10.4 |
//! | [`appender`] — group commit, receipts | §10.2, §10.8 |
//! | [`store`] — SQLite / PostgreSQL storage | §10.8 |
//! | [`board`] — configuration, keys, cache | §10.1, §10.8 |
//! | [`bundle`] — the voting page bundle by hash (board and mirrors) | §10.1, §10.9.2 |
//! | [`pages`] — the voting page and the election page (the voter client's bundle) | §13.6 |
//! | [`mirror`] — `psephos-board mirror`: replication, cosigning, equivocation evidence | §10.9 |
//! | [`server`] — the server loop: header, idle and stall timeouts, connection caps, drain | §10.7 |
//! | [`testkit`] — a whole election driven over HTTP, for tests | — |

pub mod api;
pub mod appender;
pub mod board;
pub mod bundle;
pub mod election;
pub mod error;
pub mod mirror;
pub mod pages;
pub mod server;
pub mod store;
pub mod verifier;

pub use board::{init, serve, Board, Config, Limits};
pub use error::{BoardError, Result};
pub mod bench;
pub mod testkit;
