#![no_main]
//! `cargo +nightly fuzz run checkpoint`: see FUZZING.md and `psephos_fuzz::checkpoint`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| psephos_fuzz::checkpoint(data));
