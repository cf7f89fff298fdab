//! The `psephos-trustee` binary: key files, passphrases and their errors
//! (SPEC.md §8.5.6).

// A helper that cannot start the binary under test has nothing to report
// but the failure itself.
#![allow(clippy::expect_used)]

use std::process::{Command, Output};

fn trustee(args: &[&str], passphrase: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_psephos-trustee"))
        .args(args)
        .env("PSEPHOS_PASSPHRASE", passphrase)
        .env("PSEPHOS_KEYFILE_WORK_FACTOR", "2")
        .output()
        .expect("run psephos-trustee")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn keygen_show_key_wrong_passphrase_and_tampered_file_via_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("trustee.key");
    let key = key.to_str().expect("utf-8 path");
    let out = trustee(&["keygen", "--out", key], "s3cret");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("signing key"), "{}", text(&out));
    // keygen never overwrites a key file.
    let again = trustee(&["keygen", "--out", key], "s3cret");
    assert!(!again.status.success());
    assert!(
        text(&again).contains("refusing to overwrite"),
        "{}",
        text(&again)
    );

    let shown = trustee(&["show-key", "--key", key], "s3cret");
    assert!(shown.status.success(), "{}", text(&shown));
    // The key file never holds the secrets in clear.
    let raw = std::fs::read(key).expect("read key file");
    assert!(raw.starts_with(b"age-encryption.org/v1"));
    assert!(!String::from_utf8_lossy(&raw).contains("signing_key"));

    let wrong = trustee(&["show-key", "--key", key], "not it");
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        text(&wrong).contains("wrong passphrase"),
        "{}",
        text(&wrong)
    );

    let mut tampered = raw.clone();
    let last = tampered.len() - 3;
    tampered[last] ^= 0x20;
    std::fs::write(key, &tampered).expect("write");
    let bad = trustee(&["show-key", "--key", key], "s3cret");
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad).contains("tampered"), "{}", text(&bad));
}

#[test]
fn help_names_every_step() {
    let out = trustee(&["--help"], "");
    let help = text(&out);
    for step in [
        "keygen",
        "register",
        "round1",
        "round2",
        "ack",
        "decrypt",
        "status",
        "credentials",
    ] {
        assert!(help.contains(step), "{step} missing from --help");
    }
    assert!(
        help.contains("4 the board was caught lying"),
        "exit status 4 documented in --help"
    );
    let gen = trustee(&["credentials", "generate", "--help"], "");
    assert!(text(&gen).contains("--weights"));
}

#[test]
fn empty_passphrase_from_the_environment_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("trustee.key");
    let key = key.to_str().expect("utf-8 path");
    let out = trustee(&["keygen", "--out", key], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("empty"), "{}", text(&out));
    assert!(!std::path::Path::new(key).exists());
}
