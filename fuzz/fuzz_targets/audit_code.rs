#![no_main]
//! `cargo +nightly fuzz run audit_code`: see FUZZING.md and `psephos_fuzz::audit_code`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| psephos_fuzz::audit_code(data));
