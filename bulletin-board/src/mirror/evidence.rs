//! Equivocation and invalid-entry evidence (SPEC.md §10.9.4) lives in the
//! crypto core, so that trustees and voters build and check the same
//! evidence a mirror keeps.

pub use psephos_crypto::log::evidence::*;
