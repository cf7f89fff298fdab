//! Canonical encodings (SPEC.md §2).
//!
//! * A **point** is a Ristretto255 element, 32 bytes as produced by
//!   `CompressedRistretto`, written in JSON as 64 lowercase hex digits.
//!   Decoding rejects non-canonical encodings; the identity is accepted by
//!   [`Point`] (an empty tally is the identity) and refused wherever a type
//!   says so (keys, generators: [`NonIdentityPoint`]).
//! * A **scalar** is an integer mod ℓ, 32 bytes little-endian, written as 64
//!   lowercase hex digits; decoding rejects values ≥ ℓ.
//!
//! Uppercase hex is refused so that every value has exactly one text form and
//! re-encoding a parsed value gives back the bytes that were hashed.

use std::fmt;
use std::ops::{Add, Neg, Sub};

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar as DalekScalar;
use curve25519_dalek::traits::Identity;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

use crate::error::{Error, Result};

/// Decode exactly 64 lowercase hex digits into 32 bytes.
pub fn decode_hex32(what: &'static str, text: &str) -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    decode_hex_into(what, text, &mut out)?;
    Ok(out)
}

/// Decode lowercase hex of exactly `out.len()` bytes.
pub fn decode_hex_into(what: &'static str, text: &str, out: &mut [u8]) -> Result<()> {
    if text.len() != out.len() * 2 {
        return Err(Error::Encoding {
            what,
            why: format!("expected {} hex digits, got {}", out.len() * 2, text.len()),
        });
    }
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(Error::Encoding {
            what,
            why: "hex must be lowercase".into(),
        });
    }
    hex::decode_to_slice(text, out).map_err(|e| Error::Encoding {
        what,
        why: e.to_string(),
    })
}

/// Decode lowercase hex of any even length.
pub fn decode_hex_vec(what: &'static str, text: &str) -> Result<Vec<u8>> {
    let mut out = vec![0u8; text.len() / 2];
    if !text.len().is_multiple_of(2) {
        return Err(Error::Encoding {
            what,
            why: "odd number of hex digits".into(),
        });
    }
    decode_hex_into(what, text, &mut out)?;
    Ok(out)
}

/// A canonical Ristretto255 point, carried with its 32-byte encoding so that
/// transcripts and hashes never recompress it.
#[derive(Clone, Copy)]
pub struct Point {
    point: RistrettoPoint,
    bytes: [u8; 32],
}

impl Point {
    /// Wrap a point computed locally (compresses it once).
    pub fn from_point(point: RistrettoPoint) -> Self {
        Point {
            point,
            bytes: point.compress().to_bytes(),
        }
    }

    /// The identity element.
    pub fn identity() -> Self {
        Self::from_point(RistrettoPoint::identity())
    }

    /// Parse 32 bytes; refuses non-canonical encodings (SPEC.md §2.1).
    pub fn from_bytes(what: &'static str, bytes: [u8; 32]) -> Result<Self> {
        let point = CompressedRistretto(bytes)
            .decompress()
            .ok_or(Error::NonCanonicalPoint { what })?;
        Ok(Point { point, bytes })
    }

    /// Parse 64 lowercase hex digits.
    pub fn from_hex(what: &'static str, text: &str) -> Result<Self> {
        Self::from_bytes(what, decode_hex32(what, text)?)
    }

    /// The group element.
    pub fn point(&self) -> &RistrettoPoint {
        &self.point
    }

    /// The canonical 32-byte encoding.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// Lowercase hex of the encoding.
    pub fn to_hex(&self) -> String {
        hex::encode(self.bytes)
    }

    /// Whether this is the identity element.
    pub fn is_identity(&self) -> bool {
        self.bytes == [0u8; 32]
    }

    /// Refuse the identity (for keys and generators).
    pub fn non_identity(self, what: &'static str) -> Result<NonIdentityPoint> {
        if self.is_identity() {
            Err(Error::IdentityPoint { what })
        } else {
            Ok(NonIdentityPoint(self))
        }
    }
}

impl PartialEq for Point {
    fn eq(&self, other: &Self) -> bool {
        // Canonical encodings are unique, so byte equality is group equality.
        self.bytes == other.bytes
    }
}
impl Eq for Point {}

impl std::hash::Hash for Point {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state)
    }
}

impl fmt::Debug for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Point({})", self.to_hex())
    }
}

impl From<RistrettoPoint> for Point {
    fn from(p: RistrettoPoint) -> Self {
        Point::from_point(p)
    }
}

impl Add for Point {
    type Output = Point;
    fn add(self, rhs: Point) -> Point {
        Point::from_point(self.point + rhs.point)
    }
}

impl Sub for Point {
    type Output = Point;
    fn sub(self, rhs: Point) -> Point {
        Point::from_point(self.point - rhs.point)
    }
}

impl Neg for Point {
    type Output = Point;
    fn neg(self) -> Point {
        Point::from_point(-self.point)
    }
}

impl Serialize for Point {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        serialize_hex32(&self.bytes, s)
    }
}

/// Write 32 bytes as 64 lowercase hex digits without a heap allocation:
/// every body is re-serialized to check its canonical form (SPEC.md
/// §9.1.1), a ballot has dozens of points and scalars, and the verifier
/// does this for every ballot.
pub(crate) fn serialize_hex32<S: Serializer>(
    bytes: &[u8; 32],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    let mut buf = [0u8; 64];
    hex::encode_to_slice(bytes, &mut buf).map_err(serde::ser::Error::custom)?;
    let text = std::str::from_utf8(&buf).map_err(serde::ser::Error::custom)?;
    s.serialize_str(text)
}

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Point::from_hex("point", &text).map_err(serde::de::Error::custom)
    }
}

/// A canonical point that is not the identity: public keys, verification
/// keys, commitments to polynomial coefficients.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NonIdentityPoint(pub(crate) Point);

impl NonIdentityPoint {
    /// The wrapped point.
    pub fn as_point(&self) -> &Point {
        &self.0
    }
    /// The group element.
    pub fn point(&self) -> &RistrettoPoint {
        self.0.point()
    }
    /// The canonical encoding.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
    /// Parse hex, refusing non-canonical encodings and the identity.
    pub fn from_hex(what: &'static str, text: &str) -> Result<Self> {
        Point::from_hex(what, text)?.non_identity(what)
    }
}

impl fmt::Debug for NonIdentityPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for NonIdentityPoint {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for NonIdentityPoint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Point::deserialize(d)?
            .non_identity("point")
            .map_err(serde::de::Error::custom)
    }
}

/// A canonical scalar mod ℓ (SPEC.md §2.2).
#[derive(Clone, Copy, PartialEq, Eq, Zeroize)]
pub struct Scalar(pub(crate) DalekScalar);

impl Scalar {
    /// Parse 32 little-endian bytes, refusing values ≥ ℓ.
    pub fn from_bytes(what: &'static str, bytes: [u8; 32]) -> Result<Self> {
        Option::<DalekScalar>::from(DalekScalar::from_canonical_bytes(bytes))
            .map(Scalar)
            .ok_or(Error::NonCanonicalScalar { what })
    }

    /// Parse 64 lowercase hex digits.
    pub fn from_hex(what: &'static str, text: &str) -> Result<Self> {
        Self::from_bytes(what, decode_hex32(what, text)?)
    }

    /// Wrap a dalek scalar (always canonical once reduced).
    pub fn from_dalek(s: DalekScalar) -> Self {
        Scalar(s)
    }

    /// The dalek scalar.
    pub fn inner(&self) -> &DalekScalar {
        &self.0
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Lowercase hex of the encoding.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }
}

impl From<u64> for Scalar {
    fn from(v: u64) -> Self {
        Scalar(DalekScalar::from(v))
    }
}

impl From<DalekScalar> for Scalar {
    fn from(s: DalekScalar) -> Self {
        Scalar(s)
    }
}

impl fmt::Debug for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scalar({})", self.to_hex())
    }
}

impl Serialize for Scalar {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        serialize_hex32(&self.0.to_bytes(), s)
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Scalar::from_hex("scalar", &text).map_err(serde::de::Error::custom)
    }
}

/// Serde helper for byte strings written as lowercase hex.
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialize bytes as lowercase hex.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    /// Deserialize lowercase hex of any even length.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::decode_hex_vec("bytes", &text).map_err(serde::de::Error::custom)
    }
}

/// Serde helper for 32-byte hashes written as 64 lowercase hex digits.
pub mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialize 32 bytes as lowercase hex.
    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        super::serialize_hex32(bytes, s)
    }

    /// Deserialize exactly 64 lowercase hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::decode_hex32("hash", &text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT as G;

    #[test]
    fn point_round_trips_through_json() {
        let p = Point::from_point(G * DalekScalar::from(7u64));
        let json = serde_json::to_string(&p).unwrap();
        let back: Point = serde_json::from_str(&json).unwrap();
        assert_eq!(p, back);
        assert_eq!(back.point(), p.point());
    }

    #[test]
    fn non_canonical_point_is_rejected() {
        // 2^255 - 18 is ≥ p (field element not reduced): non-canonical.
        let mut bytes = [0xffu8; 32];
        bytes[0] = 0xed;
        bytes[31] = 0x7f;
        assert!(matches!(
            Point::from_bytes("x", bytes),
            Err(Error::NonCanonicalPoint { .. })
        ));
        // A negative field element (low bit set) is not a valid Ristretto encoding.
        let mut odd = [0u8; 32];
        odd[0] = 1;
        assert!(Point::from_bytes("x", odd).is_err());
    }

    #[test]
    fn identity_is_refused_where_not_allowed() {
        let id = Point::from_hex("x", &"00".repeat(32)).unwrap();
        assert!(id.is_identity());
        assert!(matches!(
            id.non_identity("public key"),
            Err(Error::IdentityPoint { .. })
        ));
        assert!(
            serde_json::from_str::<NonIdentityPoint>(&format!("\"{}\"", "00".repeat(32))).is_err()
        );
    }

    #[test]
    fn non_canonical_scalar_is_rejected() {
        // ℓ itself.
        let l = "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";
        assert!(matches!(
            Scalar::from_hex("s", l),
            Err(Error::NonCanonicalScalar { .. })
        ));
        let below = "ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";
        assert!(Scalar::from_hex("s", below).is_ok());
    }

    #[test]
    fn wrong_lengths_and_uppercase_are_rejected() {
        assert!(Scalar::from_hex("s", "00").is_err());
        assert!(Point::from_hex("p", &"00".repeat(33)).is_err());
        let up = Point::from_point(G).to_hex().to_uppercase();
        assert!(Point::from_hex("p", &up).is_err());
        assert!(decode_hex_vec("b", "abc").is_err());
        assert!(serde_json::from_str::<Scalar>("12").is_err());
    }
}
