#![no_main]
//! `cargo +nightly fuzz run receipt`: see FUZZING.md and `psephos_fuzz::receipt`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| psephos_fuzz::receipt(data));
