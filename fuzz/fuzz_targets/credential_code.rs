#![no_main]
//! `cargo +nightly fuzz run credential_code`: see FUZZING.md and `psephos_fuzz::credential_code`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| psephos_fuzz::credential_code(data));
