#![no_main]
//! `cargo +nightly fuzz run ballot_body`: see FUZZING.md and `psephos_fuzz::ballot_body`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| psephos_fuzz::ballot_body(data));
