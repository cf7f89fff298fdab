#![no_main]
//! `cargo +nightly fuzz run body`: see FUZZING.md and `psephos_fuzz::body`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| psephos_fuzz::body(data));
