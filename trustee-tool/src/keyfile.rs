//! Key files: a trustee's or the credential authority's secrets, encrypted
//! at rest under a passphrase (SPEC.md §8.5).
//!
//! The file is an [age](https://age-encryption.org/v1) file with a single
//! `scrypt` recipient (passphrase encryption, authenticated with
//! ChaCha20-Poly1305 and a header MAC). Its plaintext is one JSON object,
//! `{"format":"psephos-keyfile/v1","kind":…, …}` ([`Secrets`]).
//!
//! * Secrets live in memory only inside zeroizing containers and are never
//!   formatted by `Debug`.
//! * A wrong passphrase gives [`TrusteeError::WrongPassphrase`]; any other
//!   authentication failure (an altered header, MAC or payload, a truncated
//!   file) gives [`TrusteeError::TamperedKeyFile`].
//! * Every write goes to a temporary file in the same directory, is synced,
//!   and is renamed over the old file: a crash leaves the old file or the
//!   new one, never half of one.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Result, TrusteeError};

/// The `format` field of every key file.
pub const FORMAT: &str = "psephos-keyfile/v1";

/// The environment variable read for the passphrase before prompting.
pub const PASSPHRASE_ENV: &str = "PSEPHOS_PASSPHRASE";

/// A passphrase, wiped from memory when dropped.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

impl Passphrase {
    /// Wrap a passphrase obtained elsewhere.
    pub fn new(text: impl Into<String>) -> Self {
        Passphrase(Zeroizing::new(text.into()))
    }

    /// `PSEPHOS_PASSPHRASE` if set, else a prompt on the terminal (twice
    /// when `confirm`, for a new file).
    pub fn from_env_or_prompt(prompt: &str, confirm: bool) -> Result<Self> {
        if let Ok(text) = std::env::var(PASSPHRASE_ENV) {
            // An empty passphrase would let anyone open the key file.
            if text.is_empty() {
                return Err(TrusteeError::Protocol(format!(
                    "{PASSPHRASE_ENV} is set but empty; an empty passphrase is not allowed"
                )));
            }
            return Ok(Passphrase::new(text));
        }
        let io = |source| TrusteeError::Io {
            action: "read a passphrase from",
            path: PathBuf::from("the terminal"),
            source,
        };
        let first = Zeroizing::new(rpassword::prompt_password(prompt).map_err(io)?);
        if first.is_empty() {
            return Err(TrusteeError::Protocol(
                "an empty passphrase is not allowed".into(),
            ));
        }
        if confirm {
            let again =
                Zeroizing::new(rpassword::prompt_password("Repeat the passphrase: ").map_err(io)?);
            if *again != *first {
                return Err(TrusteeError::Protocol("the passphrases differ".into()));
            }
        }
        Ok(Passphrase::new(first.as_str()))
    }

    fn secret(&self) -> SecretString {
        SecretString::from(self.0.as_str().to_owned())
    }
}

/// 32 secret bytes, written in the key file as 64 lowercase hex digits
/// (encoded on the stack, so no unzeroized copy is left on the heap).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Secret32(pub [u8; 32]);

impl std::fmt::Debug for Secret32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret32(<redacted>)")
    }
}

impl Serialize for Secret32 {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut buf = Zeroizing::new([0u8; 64]);
        hex::encode_to_slice(self.0, buf.as_mut()).map_err(serde::ser::Error::custom)?;
        let text = std::str::from_utf8(buf.as_ref()).map_err(serde::ser::Error::custom)?;
        s.serialize_str(text)
    }
}

impl<'de> Deserialize<'de> for Secret32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = Zeroizing::new(<std::borrow::Cow<'de, str>>::deserialize(d)?.into_owned());
        let mut out = Secret32([0u8; 32]);
        psephos_crypto::encoding::decode_hex_into("secret", &text, &mut out.0)
            .map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

/// How hard the passphrase is to brute-force: scrypt's `log2 N`.
/// `None` lets age pick about one second of work on this machine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkFactor(pub Option<u8>);

/// Read and decrypt a key file's plaintext.
pub fn read_plaintext(path: &Path, passphrase: &Passphrase) -> Result<Zeroizing<Vec<u8>>> {
    let bytes = std::fs::read(path).map_err(|source| TrusteeError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })?;
    let tampered = |why: String| TrusteeError::TamperedKeyFile {
        path: path.to_owned(),
        why,
    };
    let classify = |e: age::DecryptError| {
        match e {
        age::DecryptError::DecryptionFailed | age::DecryptError::KeyDecryptionFailed => {
            TrusteeError::WrongPassphrase {
                path: path.to_owned(),
            }
        }
        age::DecryptError::ExcessiveWork { required, target } => TrusteeError::KeyFile {
            path: path.to_owned(),
            why: format!(
                "its passphrase work factor 2^{required} is far above this machine's 2^{target}; refusing"
            ),
        },
        other => tampered(other.to_string()),
    }
    };
    let decryptor = age::Decryptor::new_buffered(&bytes[..]).map_err(classify)?;
    if !decryptor.is_scrypt() {
        return Err(TrusteeError::KeyFile {
            path: path.to_owned(),
            why: "not a passphrase-encrypted key file".into(),
        });
    }
    let identity = age::scrypt::Identity::new(passphrase.secret());
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(classify)?;
    let mut plain = Zeroizing::new(Vec::new());
    reader
        .read_to_end(&mut plain)
        .map_err(|e| tampered(format!("payload: {e}")))?;
    Ok(plain)
}

/// Encrypt `plaintext` under the passphrase and replace `path` atomically.
/// With `create`, refuse to overwrite an existing file.
pub fn write_plaintext(
    path: &Path,
    passphrase: &Passphrase,
    work: WorkFactor,
    plaintext: &[u8],
    create: bool,
) -> Result<()> {
    let mut recipient = age::scrypt::Recipient::new(passphrase.secret());
    if let Some(log_n) = work.0 {
        if !(1..64).contains(&log_n) {
            return Err(TrusteeError::Protocol(format!(
                "work factor {log_n} is outside 1..=63"
            )));
        }
        recipient.set_work_factor(log_n);
    }
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .map_err(|e| TrusteeError::KeyFile {
                path: path.to_owned(),
                why: format!("cannot encrypt: {e}"),
            })?;
    let mut out = Vec::with_capacity(plaintext.len() + 256);
    let io = |source| TrusteeError::Io {
        action: "encrypt",
        path: path.to_owned(),
        source,
    };
    let mut writer = encryptor.wrap_output(&mut out).map_err(io)?;
    writer.write_all(plaintext).map_err(io)?;
    writer.finish().map_err(io)?;
    write_atomically(path, &out, create, true)
}

/// Write `bytes` to `path` through a synced temporary file and a rename.
/// With `private`, the file is readable by its owner only (Unix).
pub fn write_atomically(path: &Path, bytes: &[u8], create: bool, private: bool) -> Result<()> {
    let io = |action, source| TrusteeError::Io {
        action,
        path: path.to_owned(),
        source,
    };
    if create && path.exists() {
        return Err(TrusteeError::KeyFile {
            path: path.to_owned(),
            why: "already exists; refusing to overwrite it".into(),
        });
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".psephos-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| io("create a temporary file beside", e))?;
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| io("set permissions of", e))?;
    }
    #[cfg(not(unix))]
    let _ = private;
    tmp.write_all(bytes).map_err(|e| io("write", e))?;
    tmp.as_file().sync_all().map_err(|e| io("sync", e))?;
    if create {
        tmp.persist_noclobber(path)
            .map_err(|e| io("create", e.error))?;
    } else {
        tmp.persist(path).map_err(|e| io("replace", e.error))?;
    }
    // Make the rename itself durable.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Parse a decrypted key file of the expected `kind`.
pub fn parse<T: for<'de> Deserialize<'de>>(path: &Path, plain: &[u8], kind: &str) -> Result<T> {
    #[derive(Deserialize)]
    struct Header {
        format: String,
        kind: String,
    }
    let bad = |why: String| TrusteeError::KeyFile {
        path: path.to_owned(),
        why,
    };
    let header: Header =
        serde_json::from_slice(plain).map_err(|e| bad(format!("not a Psephos key file ({e})")))?;
    if header.format != FORMAT {
        return Err(bad(format!(
            "format {:?} is not {FORMAT:?} (made by another version?)",
            header.format
        )));
    }
    if header.kind != kind {
        return Err(bad(format!(
            "this is a {} key file, not a {kind} key file",
            header.kind.replace('_', " ")
        )));
    }
    serde_json::from_slice(plain).map_err(|e| bad(format!("malformed contents: {e}")))
}

/// Serialize key-file contents into a zeroizing buffer.
pub fn to_plaintext<T: Serialize>(contents: &T) -> Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::with_capacity(4096));
    serde_json::to_writer(&mut *out, contents)
        .map_err(|e| TrusteeError::Protocol(format!("cannot serialize key file: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Demo {
        format: String,
        kind: String,
        secret: Secret32,
    }

    fn demo() -> Demo {
        Demo {
            format: FORMAT.into(),
            kind: "demo".into(),
            secret: Secret32([7; 32]),
        }
    }

    #[test]
    fn key_file_round_trips_and_is_not_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let pass = Passphrase::new("correct horse");
        let plain = to_plaintext(&demo()).unwrap();
        write_plaintext(&path, &pass, WorkFactor(Some(4)), &plain, true).unwrap();
        let raw = std::fs::read(&path).unwrap();
        assert!(!raw.windows(8).any(|w| w == b"07070707"));
        let back: Demo = parse(&path, &read_plaintext(&path, &pass).unwrap(), "demo").unwrap();
        assert_eq!(back.secret, Secret32([7; 32]));
        // Creating again refuses to overwrite; replacing works.
        assert!(write_plaintext(&path, &pass, WorkFactor(Some(4)), &plain, true).is_err());
        write_plaintext(&path, &pass, WorkFactor(Some(4)), &plain, false).unwrap();
        assert!(matches!(
            parse::<Demo>(&path, &plain, "trustee"),
            Err(TrusteeError::KeyFile { .. })
        ));
    }

    #[test]
    fn wrong_passphrase_and_tampering_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let pass = Passphrase::new("correct horse");
        let plain = to_plaintext(&demo()).unwrap();
        write_plaintext(&path, &pass, WorkFactor(Some(4)), &plain, true).unwrap();
        assert!(matches!(
            read_plaintext(&path, &Passphrase::new("wrong horse")),
            Err(TrusteeError::WrongPassphrase { .. })
        ));
        let good = std::fs::read(&path).unwrap();
        // A flipped byte in the payload (the end of the file), in the header
        // MAC, and a truncated file.
        let mut payload = good.clone();
        let last = payload.len() - 1;
        payload[last] ^= 1;
        let header_end = good.windows(4).position(|w| w == b"\n---").unwrap();
        let mut mac = good.clone();
        mac[header_end + 6] ^= 1;
        for bad in [payload, mac, good[..good.len() / 2].to_vec(), Vec::new()] {
            std::fs::write(&path, &bad).unwrap();
            let err = read_plaintext(&path, &pass).unwrap_err();
            assert!(
                matches!(err, TrusteeError::TamperedKeyFile { .. }),
                "{err:?}"
            );
        }
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        assert_eq!(format!("{:?}", Secret32([1; 32])), "Secret32(<redacted>)");
        assert_eq!(
            format!("{:?}", Passphrase::new("x")),
            "Passphrase(<redacted>)"
        );
    }
}
