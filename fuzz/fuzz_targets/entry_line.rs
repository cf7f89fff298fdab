#![no_main]
//! `cargo +nightly fuzz run entry_line`: see FUZZING.md and `psephos_fuzz::entry_line`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| psephos_fuzz::entry_line(data));
