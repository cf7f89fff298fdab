#![no_main]
//! `cargo +nightly fuzz run signed_note`: see FUZZING.md and `psephos_fuzz::signed_note`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| psephos_fuzz::signed_note(data));
