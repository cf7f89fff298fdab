#![no_main]
//! `cargo +nightly fuzz run vkey`: see FUZZING.md and `psephos_fuzz::vkey`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| psephos_fuzz::vkey(data));
