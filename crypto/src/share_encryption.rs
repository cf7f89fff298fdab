//! Encrypting key-ceremony shares to their recipients, and the complaint that
//! exposes a bad one (SPEC.md §8.3).
//!
//! Trustee `l` registers `Y_l = y_l·G`. Dealer `i` sends `f_i(l)` as
//! `E = e·G` and `AEAD(k, f_i(l))`, where `K = e·Y_l = y_l·E` and
//! `k = HKDF-SHA256(salt = "psephos/dkg/share-key/v1", ikm = K,
//! info = E ‖ Y_l ‖ u32le(i) ‖ u32le(l))`, 32 bytes; the AEAD is
//! ChaCha20-Poly1305 (RFC 8439) with a zero nonce (each key encrypts one
//! message) and associated data `fingerprint ‖ u32le(i) ‖ u32le(l)`.
//!
//! A recipient whose share fails the Feldman check reveals `K` with a DLEQ
//! proof that `log_G Y_l = log_E K` (context [`complaint_context`]); anyone
//! can then derive `k`, decrypt, and see that the share is bad.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::scalar::Scalar as DalekScalar;
use hkdf::Hkdf;
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::elgamal::SecretKey;
use crate::encoding::{NonIdentityPoint, Point, Scalar};
use crate::error::{Error, Result};
use crate::fingerprint::Fingerprint;
use crate::proofs::dleq::{DleqProof, DleqStatement};
use crate::threshold::check_share;

/// `"psephos/dkg/complaint/v1" ‖ u32le(i) ‖ u32le(l)`.
pub fn complaint_context(dealer: u32, recipient: u32) -> Vec<u8> {
    let mut out = b"psephos/dkg/complaint/v1".to_vec();
    out.extend_from_slice(&dealer.to_le_bytes());
    out.extend_from_slice(&recipient.to_le_bytes());
    out
}

fn aead_key(k: &Point, e: &Point, y: &Point, dealer: u32, recipient: u32) -> Zeroizing<[u8; 32]> {
    let mut info = Vec::with_capacity(72);
    info.extend_from_slice(e.as_bytes());
    info.extend_from_slice(y.as_bytes());
    info.extend_from_slice(&dealer.to_le_bytes());
    info.extend_from_slice(&recipient.to_le_bytes());
    let hk = Hkdf::<Sha256>::new(Some(b"psephos/dkg/share-key/v1"), k.as_bytes());
    let mut okm = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 8,160-byte limit, so expand cannot fail.
    let _ = hk.expand(&info, okm.as_mut());
    okm
}

fn aad(fp: &Fingerprint, dealer: u32, recipient: u32) -> Vec<u8> {
    let mut out = fp.as_bytes().to_vec();
    out.extend_from_slice(&dealer.to_le_bytes());
    out.extend_from_slice(&recipient.to_le_bytes());
    out
}

/// Encrypt `share` from `dealer` to `recipient` whose key is `y`.
/// Returns `(E, ciphertext)`.
pub fn encrypt_share<R: RngCore + CryptoRng>(
    fp: &Fingerprint,
    dealer: u32,
    recipient: u32,
    recipient_key: &NonIdentityPoint,
    share: &Scalar,
    rng: &mut R,
) -> Result<(Point, Vec<u8>)> {
    let mut e = DalekScalar::random(rng);
    let big_e = Point::from_point(&e * RISTRETTO_BASEPOINT_TABLE);
    let k = Point::from_point(e * recipient_key.point());
    e.zeroize();
    let key = aead_key(&k, &big_e, recipient_key.as_point(), dealer, recipient);
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
    let plaintext = Zeroizing::new(share.to_bytes());
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&[0u8; 12]),
            Payload {
                msg: plaintext.as_ref(),
                aad: &aad(fp, dealer, recipient),
            },
        )
        .map_err(|_| Error::Threshold("share encryption failed".into()))?;
    Ok((big_e, ct))
}

/// Decrypt with the shared point `K` (the recipient's `y·E`, or a revealed one).
fn open_with(
    fp: &Fingerprint,
    dealer: u32,
    recipient: u32,
    recipient_key: &Point,
    ephemeral: &Point,
    k: &Point,
    ciphertext: &[u8],
) -> Result<Scalar> {
    let key = aead_key(k, ephemeral, recipient_key, dealer, recipient);
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                Nonce::from_slice(&[0u8; 12]),
                Payload {
                    msg: ciphertext,
                    aad: &aad(fp, dealer, recipient),
                },
            )
            .map_err(|_| {
                Error::Threshold(format!("share from dealer {dealer} does not decrypt"))
            })?,
    );
    let bytes: [u8; 32] = plain
        .as_slice()
        .try_into()
        .map_err(|_| Error::Threshold(format!("share from dealer {dealer} is not 32 bytes")))?;
    Scalar::from_bytes("share", bytes)
}

/// The recipient decrypts its share. The caller then runs the Feldman check.
pub fn decrypt_share(
    fp: &Fingerprint,
    dealer: u32,
    recipient: u32,
    key: &SecretKey,
    ephemeral: &Point,
    ciphertext: &[u8],
) -> Result<Scalar> {
    let k = Point::from_point(key.expose() * ephemeral.point());
    let y = key.public_key();
    open_with(
        fp,
        dealer,
        recipient,
        y.as_point(),
        ephemeral,
        &k,
        ciphertext,
    )
}

/// A complaint's evidence: the revealed `K` and its DLEQ proof.
#[derive(Clone, Copy, Debug)]
pub struct Complaint {
    /// `K = y_l·E`
    pub shared_key: Point,
    /// `log_G Y_l = log_E K`
    pub proof: DleqProof,
}

/// Make the evidence that dealer `dealer`'s share to `recipient` is bad.
pub fn make_complaint<R: RngCore + CryptoRng>(
    fp: &Fingerprint,
    dealer: u32,
    recipient: u32,
    key: &SecretKey,
    ephemeral: &Point,
    rng: &mut R,
) -> Complaint {
    let k = Point::from_point(key.expose() * ephemeral.point());
    let y = key.public_key();
    let context = complaint_context(dealer, recipient);
    let st = DleqStatement {
        context: &context,
        X: y.as_point(),
        B: ephemeral,
        D: &k,
    };
    Complaint {
        shared_key: k,
        proof: DleqProof::prove(fp, &st, key.expose(), rng),
    }
}

/// Judge a complaint, as anyone can: `Ok(true)` if the dealer is proven bad
/// (the revealed key is genuine and the share does not decrypt, is not a
/// scalar, or fails the Feldman check), `Ok(false)` if the share is good
/// (the complaint is unfounded), `Err` if the evidence itself is invalid.
#[allow(clippy::too_many_arguments)]
pub fn dealer_is_bad(
    fp: &Fingerprint,
    dealer: u32,
    recipient: u32,
    recipient_key: &Point,
    ephemeral: &Point,
    ciphertext: &[u8],
    commitments: &[Point],
    complaint: &Complaint,
) -> Result<bool> {
    let context = complaint_context(dealer, recipient);
    let st = DleqStatement {
        context: &context,
        X: recipient_key,
        B: ephemeral,
        D: &complaint.shared_key,
    };
    complaint.proof.verify(fp, &st)?;
    match open_with(
        fp,
        dealer,
        recipient,
        recipient_key,
        ephemeral,
        &complaint.shared_key,
        ciphertext,
    ) {
        Ok(share) => Ok(!check_share(&share, recipient, commitments)),
        Err(_) => Ok(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threshold::Polynomial;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn share_round_trip_and_complaints_are_judged_correctly() {
        let mut rng = ChaCha20Rng::seed_from_u64(1001);
        let fp = Fingerprint::ceremony(&[1; 32]);
        let y = SecretKey::random(&mut rng);
        let big_y = y.public_key().to_non_identity();
        let poly = Polynomial::random(2, &mut rng).unwrap();
        let a = poly.commitments();
        let share = poly.evaluate(3);
        let (e, ct) = encrypt_share(&fp, 1, 3, &big_y, &share, &mut rng).unwrap();
        assert_eq!(decrypt_share(&fp, 1, 3, &y, &e, &ct).unwrap(), share);
        // Bound to dealer, recipient and fingerprint.
        assert!(decrypt_share(&fp, 2, 3, &y, &e, &ct).is_err());
        assert!(decrypt_share(&Fingerprint::ceremony(&[2; 32]), 1, 3, &y, &e, &ct).is_err());

        // A complaint against a good share is unfounded.
        let c = make_complaint(&fp, 1, 3, &y, &e, &mut rng);
        assert!(!dealer_is_bad(&fp, 1, 3, big_y.as_point(), &e, &ct, &a, &c).unwrap());

        // A share of the wrong value is proven bad.
        let wrong = poly.evaluate(4);
        let (e2, ct2) = encrypt_share(&fp, 1, 3, &big_y, &wrong, &mut rng).unwrap();
        let c2 = make_complaint(&fp, 1, 3, &y, &e2, &mut rng);
        assert!(dealer_is_bad(&fp, 1, 3, big_y.as_point(), &e2, &ct2, &a, &c2).unwrap());

        // Garbage that does not decrypt is proven bad too.
        let mut garbage = ct2.clone();
        garbage[0] ^= 1;
        assert!(dealer_is_bad(&fp, 1, 3, big_y.as_point(), &e2, &garbage, &a, &c2).unwrap());

        // Forged evidence (a K that is not y·E) is rejected.
        let forged = Complaint {
            shared_key: e2,
            ..c2
        };
        assert!(dealer_is_bad(&fp, 1, 3, big_y.as_point(), &e2, &ct2, &a, &forged).is_err());
    }
}
