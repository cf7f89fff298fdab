#![no_main]
//! `cargo +nightly fuzz run evidence`: see FUZZING.md and `psephos_fuzz::evidence`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| psephos_fuzz::evidence(data));
