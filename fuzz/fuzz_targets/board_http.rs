#![no_main]
//! `cargo +nightly fuzz run board_http`: see FUZZING.md and `psephos_fuzz::board_http`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| psephos_fuzz::board_http(data));
