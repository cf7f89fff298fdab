//! The election record: signed posts, log entries and the hash chain
//! (SPEC.md §9). The board, the trustee tool, the voter client and the
//! verifier all read and write these types, so there is exactly one
//! definition of the bytes.
//!
//! * A **post** is what an author sends: `{"body":<body>,"signature":"<hex>"}`.
//!   The signature is Ed25519 (`verify_strict`) by the key named in
//!   `body.author` over `"psephos/entry/v1\n" ‖ body bytes`, where the body
//!   bytes are the exact JSON text of `body` as sent.
//! * A **body** is a JSON object `{"election":…,"author":…,"type":…, …}`;
//!   `type` selects the payload ([`Payload`]).
//! * An **entry** is the line the board appends:
//!   `{"index":N,"prev":"<hex>","time":T,"body":<body bytes verbatim>,"signature":"<hex>"}`,
//!   with exactly these keys in this order, no whitespace outside the body.
//!   Its leaf hash is `SHA-256(0x00 ‖ line)` (RFC 6962, §7.1); `prev` is the
//!   previous entry's leaf hash, and 32 zero bytes for entry 0: the hash chain.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use thiserror::Error;

use crate::ballot::{Contest, EncryptedBallot};
use crate::elgamal::{Ciphertext, PublicKey};
use crate::encoding::{decode_hex32, decode_hex_into, hex32, Point};
use crate::log::merkle::{leaf_hash, Hash};
use crate::proofs::dleq::DleqProof;
use crate::proofs::schnorr::SchnorrProof;
use crate::threshold::DecryptionShare;

/// Domain separator of every post signature.
pub const SIGNATURE_DOMAIN: &[u8] = b"psephos/entry/v1\n";

/// `prev` of entry 0.
pub const GENESIS_PREV: Hash = [0u8; 32];

/// Why a post or entry was refused.
#[derive(Debug, Error)]
pub enum RecordError {
    /// Not valid JSON of the expected shape.
    #[error("malformed {what}: {why}")]
    Malformed { what: &'static str, why: String },
    /// The author key is not a valid Ed25519 public key.
    #[error("author key is not a valid Ed25519 public key")]
    BadAuthorKey,
    /// The signature does not verify under the author key.
    #[error("signature does not verify under the author's key")]
    BadSignature,
    /// A body that contains line breaks (a log line must be one line).
    #[error("body must be compact JSON without line breaks")]
    Multiline,
    /// A body that parses but is not in its one canonical byte form
    /// (SPEC.md §9.1.1): other whitespace, key order, escapes or number
    /// forms, or an unknown field. (A repeated key does not parse:
    /// `Malformed`.)
    #[error("body is not in canonical form (SPEC.md §9.1.1): {0}")]
    NotCanonical(String),
    /// The chain is broken at this entry.
    #[error("entry {index}: {why}")]
    Chain { index: u64, why: String },
}

/// An Ed25519 public key written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AuthorKey(#[serde(with = "hex32")] pub [u8; 32]);

impl AuthorKey {
    /// The key of a signer.
    pub fn of(key: &SigningKey) -> Self {
        AuthorKey(key.verifying_key().to_bytes())
    }

    /// Parse as an Ed25519 key.
    pub fn verifying_key(&self) -> Result<VerifyingKey, RecordError> {
        VerifyingKey::from_bytes(&self.0).map_err(|_| RecordError::BadAuthorKey)
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parse 64 lowercase hex digits.
    pub fn from_hex(text: &str) -> Result<Self, crate::Error> {
        Ok(AuthorKey(decode_hex32("author key", text)?))
    }
}

impl std::fmt::Debug for AuthorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuthorKey({})", self.to_hex())
    }
}

/// A 64-byte Ed25519 signature written as 128 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SignatureHex(pub [u8; 64]);

impl std::fmt::Debug for SignatureHex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SignatureHex({})", hex::encode(self.0))
    }
}

impl Serialize for SignatureHex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for SignatureHex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut out = [0u8; 64];
        decode_hex_into("signature", &text, &mut out).map_err(serde::de::Error::custom)?;
        Ok(SignatureHex(out))
    }
}

/// A trustee as the manifest names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrusteeInfo {
    /// `l`, from 1 to `n`.
    pub index: u32,
    /// A human name.
    pub name: String,
    /// The trustee's Ed25519 signing key: its posts are signed with it.
    pub key: AuthorKey,
}

/// The election definition, posted by the board when the election is created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// What voters see.
    pub title: String,
    /// The contests, in ballot order.
    pub contests: Vec<Contest>,
    /// The trustees, indices 1..n in order.
    pub trustees: Vec<TrusteeInfo>,
    /// How many trustees must cooperate to decrypt.
    pub threshold: u32,
    /// The key that signs the credential list.
    pub credential_authority: AuthorKey,
    /// The mirrors the election relies on to keep the board to one
    /// history (SPEC.md §14.1); none unless named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<crate::witness::Witness>,
    /// How many of them must cosign a checkpoint before a trustee acts on
    /// it (SPEC.md §14.1); written only when not 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub witness_quorum: u32,
    /// The fewest counted credentials a tally may be decrypted for
    /// (SPEC.md §10.5); absent means [`DEFAULT_MIN_COUNTED`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_counted: Option<u64>,
    /// The most valid ballots one credential may have on the log (SPEC.md
    /// §10.4 rule 7); absent means [`DEFAULT_MAX_BALLOTS_PER_CREDENTIAL`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ballots_per_credential: Option<u64>,
}

/// The `min_counted` of a manifest that names none (SPEC.md §10.5): a
/// smaller tally would let the trustees' decryption reveal how a few
/// voters voted.
pub const DEFAULT_MIN_COUNTED: u64 = 10;

/// The `max_ballots_per_credential` of a manifest that names none (SPEC.md
/// §10.4 rule 7): a voter may change their mind a few times, but one
/// credential cannot grow the permanent log without limit (every revote is
/// a whole ballot, kept forever).
pub const DEFAULT_MAX_BALLOTS_PER_CREDENTIAL: u64 = 5;

impl Manifest {
    /// `min_counted`, or its default.
    pub fn min_counted(&self) -> u64 {
        self.min_counted.unwrap_or(DEFAULT_MIN_COUNTED)
    }

    /// `max_ballots_per_credential`, or its default.
    pub fn max_ballots_per_credential(&self) -> u64 {
        self.max_ballots_per_credential
            .unwrap_or(DEFAULT_MAX_BALLOTS_PER_CREDENTIAL)
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A dealer's share for one recipient, encrypted to the recipient's
/// registered encryption key (SPEC.md §8.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptedShare {
    /// Recipient index `l`.
    pub to: u32,
    /// Ephemeral key `E = e·G`.
    pub ephemeral: Point,
    /// AEAD ciphertext of the 32-byte share, lowercase hex.
    #[serde(with = "crate::encoding::hex_bytes")]
    pub ciphertext: Vec<u8>,
}

/// One credential on the published list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialEntry {
    /// The voter's Ed25519 public key.
    pub key: AuthorKey,
    /// Weight of the voter's ballot (1 unless weighted voting).
    #[serde(default = "one")]
    pub weight: u64,
}

fn one() -> u64 {
    1
}

/// The per-type content of a body (SPEC.md §9.3).
// Bodies are parsed one at a time and never stored in bulk, so boxing the
// large variants would buy nothing but indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// The election definition (author: board).
    Manifest(Manifest),
    /// A trustee's encryption key (author: that trustee).
    TrusteeRegistration {
        /// `l`
        trustee: u32,
        /// Where shares for `l` are encrypted to.
        encryption_key: Point,
    },
    /// Round 1, commit: `SHA-256` of the trustee's `dkg_commitments` body bytes.
    DkgCommit {
        /// `i`
        trustee: u32,
        /// The hash of the round-1 body to come.
        #[serde(with = "hex32")]
        hash: [u8; 32],
    },
    /// Round 1 cut-off (author: board): no `dkg_commit` is accepted after
    /// it, and the trustees that committed reveal without waiting for the
    /// ones that did not (SPEC.md §8.5.2).
    DkgCommitsClosed {},
    /// Round 1, reveal: Feldman commitments with proofs, and encrypted shares.
    DkgCommitments {
        /// `i`
        trustee: u32,
        /// `A_ij = a_ij·G`, `j = 0..t-1`.
        commitments: Vec<Point>,
        /// A Schnorr proof for each `A_ij`.
        proofs: Vec<SchnorrProof>,
        /// `f_i(l)` for every other trustee `l`, encrypted to `l`.
        shares: Vec<EncryptedShare>,
    },
    /// Round 2: a trustee shows that dealer `dealer` gave it a bad share.
    DkgComplaint {
        /// Complaining trustee `l`.
        trustee: u32,
        /// Accused dealer `i`.
        dealer: u32,
        /// The Diffie–Hellman point `K = y_l·E`, revealed.
        shared_key: Point,
        /// `log_G Y_l = log_E K`.
        proof: DleqProof,
    },
    /// The joint key and verification keys (author: board; anyone recomputes).
    JointKey {
        /// Qualified dealers.
        qualified: Vec<u32>,
        /// `PK`
        public_key: PublicKey,
        /// `X_l` for `l = 1..n`.
        verification_keys: Vec<Point>,
    },
    /// A trustee acknowledges `PK` (author: that trustee).
    KeyAck {
        /// `l`
        trustee: u32,
        /// The key acknowledged.
        public_key: PublicKey,
    },
    /// The eligible voters (author: credential authority).
    CredentialList {
        /// One entry per voter.
        credentials: Vec<CredentialEntry>,
    },
    /// Voting opens (author: board).
    VotingOpened {
        /// SHA-256 of the voting page bundle (SPEC.md §10.4).
        #[serde(with = "hex32")]
        bundle_sha256: [u8; 32],
    },
    /// A voter's ballot (author: the voter's credential).
    Ballot(EncryptedBallot),
    /// Voting closes (author: board).
    VotingClosed {},
    /// A trustee's partial decryption of the tally (author: that trustee).
    PartialDecryption {
        /// `l`
        trustee: u32,
        /// One share per tally ciphertext, contests then options in order.
        shares: Vec<DecryptionShare>,
    },
    /// The result (author: board).
    Result {
        /// The encrypted tally, contests then options in order.
        tally: Vec<Ciphertext>,
        /// Trustees whose shares were combined.
        trustees: Vec<u32>,
        /// Counts per contest per option.
        counts: Vec<Vec<u64>>,
    },
}

impl Payload {
    /// The `type` string.
    pub fn type_name(&self) -> &'static str {
        match self {
            Payload::Manifest(_) => "manifest",
            Payload::TrusteeRegistration { .. } => "trustee_registration",
            Payload::DkgCommit { .. } => "dkg_commit",
            Payload::DkgCommitsClosed {} => "dkg_commits_closed",
            Payload::DkgCommitments { .. } => "dkg_commitments",
            Payload::DkgComplaint { .. } => "dkg_complaint",
            Payload::JointKey { .. } => "joint_key",
            Payload::KeyAck { .. } => "key_ack",
            Payload::CredentialList { .. } => "credential_list",
            Payload::VotingOpened { .. } => "voting_opened",
            Payload::Ballot(_) => "ballot",
            Payload::VotingClosed {} => "voting_closed",
            Payload::PartialDecryption { .. } => "partial_decryption",
            Payload::Result { .. } => "result",
        }
    }
}

/// A post body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    /// The election id.
    pub election: String,
    /// Who signs.
    pub author: AuthorKey,
    /// What it says.
    #[serde(flatten)]
    pub payload: Payload,
}

/// What an author sends to the board.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Post {
    /// The exact body bytes.
    pub body: Box<RawValue>,
    /// Ed25519 over `SIGNATURE_DOMAIN ‖ body`.
    pub signature: SignatureHex,
}

fn signed_message(body: &str) -> Vec<u8> {
    let mut msg = Vec::with_capacity(SIGNATURE_DOMAIN.len() + body.len());
    msg.extend_from_slice(SIGNATURE_DOMAIN);
    msg.extend_from_slice(body.as_bytes());
    msg
}

fn malformed(what: &'static str) -> impl Fn(serde_json::Error) -> RecordError {
    move |e| RecordError::Malformed {
        what,
        why: e.to_string(),
    }
}

impl Post {
    /// Serialize `body` compactly and sign it; `key` must be `body.author`'s.
    pub fn sign(body: &Body, key: &SigningKey) -> Result<Post, RecordError> {
        let text = serde_json::to_string(body).map_err(malformed("body"))?;
        let signature = SignatureHex(key.sign(&signed_message(&text)).to_bytes());
        let body = RawValue::from_string(text).map_err(malformed("body"))?;
        Ok(Post { body, signature })
    }

    /// Sign body text given verbatim (a `dkg_commitments` body whose hash was
    /// committed earlier must be posted byte for byte, SPEC.md §9.3). The text
    /// must be one line of JSON; `key` must be the key named in its `author`.
    pub fn sign_text(text: String, key: &SigningKey) -> Result<Post, RecordError> {
        if text.contains(['\n', '\r']) {
            return Err(RecordError::Multiline);
        }
        let signature = SignatureHex(key.sign(&signed_message(&text)).to_bytes());
        let body = RawValue::from_string(text).map_err(malformed("body"))?;
        Ok(Post { body, signature })
    }

    /// Parse the body and check the author's signature over its exact bytes.
    pub fn open(&self) -> Result<Body, RecordError> {
        open_signed(self.body.get(), &self.signature)
    }

    /// The body bytes as sent (what the tracking code hashes).
    pub fn body_text(&self) -> &str {
        self.body.get()
    }
}

/// Parse body text, check that it is the body's canonical form (SPEC.md
/// §9.1.1) and that the signature verifies under its author's key over
/// those exact bytes (§9.1).
pub fn open_signed(body_text: &str, signature: &SignatureHex) -> Result<Body, RecordError> {
    let body = parse_body(body_text)?;
    let key = body.author.verifying_key()?;
    verify_body_signature(&key, body_text, signature)?;
    Ok(body)
}

/// Parse body text and check its canonical form, without the signature.
pub fn parse_body(body_text: &str) -> Result<Body, RecordError> {
    if body_text.contains(['\n', '\r']) {
        return Err(RecordError::Multiline);
    }
    let body: Body = serde_json::from_str(body_text).map_err(malformed("body"))?;
    require_canonical(&body, body_text)?;
    Ok(body)
}

/// A body's text is canonical iff serializing the parsed body gives the
/// same bytes back (SPEC.md §9.1.1): one byte form per body, so one
/// tracking code per ballot, and no field a role would silently drop.
pub fn require_canonical<T: Serialize>(parsed: &T, text: &str) -> Result<(), RecordError> {
    // Compared as it is written: no copy of the body is allocated.
    let mut cmp = CompareWriter {
        expected: text.as_bytes(),
        at: 0,
        differs: None,
    };
    serde_json::to_writer(&mut cmp, parsed).map_err(malformed("body"))?;
    let at = match cmp.differs {
        Some(at) => at,
        None if cmp.at == text.len() => return Ok(()),
        None => cmp.at,
    };
    Err(RecordError::NotCanonical(format!(
        "differs from the canonical serialization at byte {at} (unknown fields, whitespace, key order, escapes or number forms)"
    )))
}

/// An `io::Write` that compares what is written with `expected`.
struct CompareWriter<'a> {
    expected: &'a [u8],
    at: usize,
    differs: Option<usize>,
}

impl std::io::Write for CompareWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.differs.is_none() {
            let rest = self.expected.get(self.at..).unwrap_or_default();
            match rest.iter().zip(buf).position(|(a, b)| a != b) {
                Some(k) => self.differs = Some(self.at + k),
                None if buf.len() > rest.len() => self.differs = Some(self.at + rest.len()),
                None => self.at += buf.len(),
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `verify_strict` over `"psephos/entry/v1\n" ‖ body text` (SPEC.md §9.1).
pub fn verify_body_signature(
    key: &VerifyingKey,
    body_text: &str,
    signature: &SignatureHex,
) -> Result<(), RecordError> {
    key.verify_strict(
        &signed_message(body_text),
        &Signature::from_bytes(&signature.0),
    )
    .map_err(|_| RecordError::BadSignature)
}

/// A ballot body, opened by [`open_ballot`].
#[derive(Debug)]
pub struct OpenedBallot {
    /// The election the body names.
    pub election: String,
    /// The credential that signed it.
    pub author: AuthorKey,
    /// The ballot.
    pub ballot: EncryptedBallot,
}

/// A ballot body parsed directly, without the generic [`Body`]'s
/// `flatten`, which buffers the whole payload before parsing it again (a
/// third of a ballot's parse time). Same fields, same canonical form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BallotBody {
    election: String,
    author: AuthorKey,
    #[serde(rename = "type")]
    kind: String,
    contests: Vec<crate::ballot::EncryptedContest>,
}

#[derive(Serialize)]
struct BallotBodyRef<'a> {
    election: &'a str,
    author: &'a AuthorKey,
    #[serde(rename = "type")]
    kind: &'static str,
    contests: &'a [crate::ballot::EncryptedContest],
}

/// [`open_signed`] for a body that should be a ballot: the fast parse,
/// the canonical form (SPEC.md §9.1.1) and the signature, under `key` when
/// the caller has the author's key decompressed already (it must be the
/// key the body names). A body that is not a ballot is refused with the
/// same errors [`open_signed`] gives, or `Malformed` naming its type.
pub fn open_ballot(
    body_text: &str,
    signature: &SignatureHex,
    key: Option<&VerifyingKey>,
) -> Result<OpenedBallot, RecordError> {
    if body_text.contains(['\n', '\r']) {
        return Err(RecordError::Multiline);
    }
    let fast = match serde_json::from_str::<BallotBody>(body_text) {
        Ok(fast) if fast.kind == "ballot" => fast,
        _ => {
            let body = open_signed(body_text, signature)?;
            let kind = body.payload.type_name();
            return match body.payload {
                Payload::Ballot(ballot) => Ok(OpenedBallot {
                    election: body.election,
                    author: body.author,
                    ballot,
                }),
                _ => Err(RecordError::Malformed {
                    what: "ballot",
                    why: format!("the body is a {kind}, not a ballot"),
                }),
            };
        }
    };
    let canonical = BallotBodyRef {
        election: &fast.election,
        author: &fast.author,
        kind: "ballot",
        contests: &fast.contests,
    };
    require_canonical(&canonical, body_text)?;
    match key {
        Some(k) if k.to_bytes() == fast.author.0 => verify_body_signature(k, body_text, signature)?,
        _ => verify_body_signature(&fast.author.verifying_key()?, body_text, signature)?,
    }
    Ok(OpenedBallot {
        election: fast.election,
        author: fast.author,
        ballot: EncryptedBallot {
            contests: fast.contests,
        },
    })
}

/// One line of the log.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Position in the election's log, from 0.
    pub index: u64,
    /// Leaf hash of the previous entry.
    #[serde(with = "hex32")]
    pub prev: Hash,
    /// Board time of acceptance, Unix seconds.
    pub time: u64,
    /// The body bytes exactly as posted.
    pub body: Box<RawValue>,
    /// The author's signature.
    pub signature: SignatureHex,
}

impl Entry {
    /// The canonical line (no trailing newline).
    pub fn to_line(&self) -> Result<String, RecordError> {
        serde_json::to_string(self).map_err(malformed("entry"))
    }

    /// Parse a line; refuses a line that is not in canonical form, so that
    /// the hash of the line and the hash of the parsed entry agree.
    pub fn from_line(line: &str) -> Result<Entry, RecordError> {
        let entry: Entry = serde_json::from_str(line).map_err(malformed("entry"))?;
        if entry.to_line()? != line {
            return Err(RecordError::Malformed {
                what: "entry",
                why: "not in canonical form".into(),
            });
        }
        Ok(entry)
    }

    /// Parse and signature-check the body.
    pub fn open(&self) -> Result<Body, RecordError> {
        open_signed(self.body.get(), &self.signature)
    }
}

/// Follows the hash chain and the Merkle tree as entries arrive in order.
#[derive(Debug)]
pub struct ChainFollower {
    next_index: u64,
    prev: Hash,
}

impl Default for ChainFollower {
    fn default() -> Self {
        ChainFollower {
            next_index: 0,
            prev: GENESIS_PREV,
        }
    }
}

impl ChainFollower {
    /// Start at the beginning of a log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resume after entry `index − 1` whose leaf hash is `prev`.
    pub fn resume(next_index: u64, prev: Hash) -> Self {
        ChainFollower { next_index, prev }
    }

    /// Check that `line` is the next entry of the chain; returns its leaf hash.
    pub fn accept(&mut self, line: &str, entry: &Entry) -> Result<Hash, RecordError> {
        if entry.index != self.next_index {
            return Err(RecordError::Chain {
                index: entry.index,
                why: format!("expected index {}", self.next_index),
            });
        }
        if entry.prev != self.prev {
            return Err(RecordError::Chain {
                index: entry.index,
                why: "prev does not match the previous entry's hash".into(),
            });
        }
        let h = leaf_hash(line.as_bytes());
        self.prev = h;
        self.next_index += 1;
        Ok(h)
    }

    /// Index the next entry must have.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// Leaf hash of the last accepted entry.
    pub fn head(&self) -> Hash {
        self.prev
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn signed(key: &SigningKey, payload: Payload) -> Post {
        let body = Body {
            election: "e1".into(),
            author: AuthorKey::of(key),
            payload,
        };
        Post::sign(&body, key).unwrap()
    }

    #[test]
    fn commits_closed_entry_has_its_type_name_and_no_fields() {
        let mut rng = ChaCha20Rng::seed_from_u64(601);
        let key = SigningKey::generate(&mut rng);
        let post = signed(&key, Payload::DkgCommitsClosed {});
        assert!(post
            .body_text()
            .ends_with("\"type\":\"dkg_commits_closed\"}"));
        assert_eq!(
            post.open().unwrap().payload.type_name(),
            "dkg_commits_closed"
        );
    }

    #[test]
    fn post_round_trips_and_signature_binds_exact_bytes() {
        let mut rng = ChaCha20Rng::seed_from_u64(602);
        let key = SigningKey::generate(&mut rng);
        let post = signed(&key, Payload::VotingClosed {});
        let json = serde_json::to_string(&post).unwrap();
        let back: Post = serde_json::from_str(&json).unwrap();
        let body = back.open().unwrap();
        assert_eq!(body.payload, Payload::VotingClosed {});
        assert!(back.body_text().contains("\"type\":\"voting_closed\""));
        // Same JSON value, different bytes: not the canonical form, and
        // the signature would not verify either.
        let spaced = back.body_text().replacen(',', ", ", 1);
        assert!(matches!(
            open_signed(&spaced, &back.signature),
            Err(RecordError::NotCanonical(_))
        ));
        let resigned = Post::sign_text(spaced, &key).unwrap();
        assert!(matches!(resigned.open(), Err(RecordError::NotCanonical(_))));
        // A canonical body with a flipped signature byte.
        let mut sig = back.signature;
        sig.0[0] ^= 1;
        assert!(matches!(
            open_signed(back.body_text(), &sig),
            Err(RecordError::BadSignature)
        ));
        assert!(matches!(
            open_signed(&back.body_text().replacen(',', ",\n", 1), &back.signature),
            Err(RecordError::Multiline)
        ));
    }

    #[test]
    fn every_other_byte_form_of_a_body_is_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(603);
        let key = SigningKey::generate(&mut rng);
        let body = Body {
            election: "e1".into(),
            author: AuthorKey::of(&key),
            payload: Payload::KeyAck {
                trustee: 2,
                public_key: crate::elgamal::PublicKey::from_point(
                    Point::from_point(curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT)
                        .non_identity("pk")
                        .unwrap(),
                ),
            },
        };
        let canonical = serde_json::to_string(&body).unwrap();
        assert!(canonical.starts_with(r#"{"election":"e1","author":""#));
        let variants = [
            canonical.replacen(r#""trustee":2"#, r#""trustee":2,"winner":"x""#, 1),
            canonical.replacen(r#""trustee":2"#, r#""trustee":2,"trustee":2"#, 1),
            canonical.replacen(r#""e1""#, r#""\u00651""#, 1),
            canonical.replacen(r#""trustee":2"#, r#""trustee":2.0"#, 1),
            canonical.replacen(':', " : ", 1),
            canonical.replacen("{", "{ ", 1),
            canonical
                .replacen(r#"{"election":"e1","#, r#"{"#, 1)
                .replacen('}', r#","election":"e1"}"#, 1),
        ];
        for text in variants {
            let post = Post::sign_text(text.clone(), &key).unwrap();
            match post.open() {
                Err(RecordError::NotCanonical(_)) | Err(RecordError::Malformed { .. }) => {}
                other => panic!("{text} was not refused: {other:?}"),
            }
        }
    }

    /// SPEC.md §9.1.1: an optional manifest number is left out when not
    /// given; given, it is written after `min_counted`, even when it equals
    /// the default. Absent and explicit are two canonical bodies (two
    /// manifests, two manifest hashes) with the same cap.
    #[test]
    fn max_ballots_per_credential_is_optional_with_its_default() {
        let mut rng = ChaCha20Rng::seed_from_u64(604);
        let key = SigningKey::generate(&mut rng);
        let manifest = Manifest {
            title: "t".into(),
            contests: Vec::new(),
            trustees: Vec::new(),
            threshold: 1,
            credential_authority: AuthorKey::of(&key),
            witnesses: Vec::new(),
            witness_quorum: 0,
            min_counted: Some(3),
            max_ballots_per_credential: None,
        };
        let absent = signed(&key, Payload::Manifest(manifest.clone()));
        assert!(!absent.body_text().contains("max_ballots_per_credential"));
        let Payload::Manifest(back) = absent.open().unwrap().payload else {
            panic!("not a manifest")
        };
        assert_eq!(back.max_ballots_per_credential, None);
        assert_eq!(
            back.max_ballots_per_credential(),
            DEFAULT_MAX_BALLOTS_PER_CREDENTIAL
        );
        let explicit = signed(
            &key,
            Payload::Manifest(Manifest {
                max_ballots_per_credential: Some(DEFAULT_MAX_BALLOTS_PER_CREDENTIAL),
                ..manifest
            }),
        );
        assert!(explicit
            .body_text()
            .ends_with(r#""min_counted":3,"max_ballots_per_credential":5}"#));
        let Payload::Manifest(back) = explicit.open().unwrap().payload else {
            panic!("not a manifest")
        };
        assert_eq!(back.max_ballots_per_credential, Some(5));
        assert_ne!(absent.body_text(), explicit.body_text());
        // Before `min_counted` it is not canonical.
        let moved = explicit.body_text().replacen(
            r#""min_counted":3,"max_ballots_per_credential":5"#,
            r#""max_ballots_per_credential":5,"min_counted":3"#,
            1,
        );
        assert!(matches!(
            Post::sign_text(moved, &key).unwrap().open(),
            Err(RecordError::NotCanonical(_))
        ));
    }

    #[test]
    fn sign_text_keeps_the_exact_bytes() {
        let mut rng = ChaCha20Rng::seed_from_u64(605);
        let key = SigningKey::generate(&mut rng);
        let body = Body {
            election: "e1".into(),
            author: AuthorKey::of(&key),
            payload: Payload::VotingClosed {},
        };
        let canonical = serde_json::to_string(&body).unwrap();
        let post = Post::sign_text(canonical.clone(), &key).unwrap();
        assert_eq!(post.open().unwrap(), body);
        let text = canonical.replacen(',', ", ", 1);
        let post = Post::sign_text(text.clone(), &key).unwrap();
        assert_eq!(post.body_text(), text);
        assert!(matches!(post.open(), Err(RecordError::NotCanonical(_))));
        assert!(matches!(
            Post::sign_text(text.replacen(',', ",\n", 1), &key),
            Err(RecordError::Multiline)
        ));
        assert!(Post::sign_text("{not json".into(), &key).is_err());
    }

    #[test]
    fn chain_follower_detects_gaps_and_broken_links() {
        let mut rng = ChaCha20Rng::seed_from_u64(606);
        let key = SigningKey::generate(&mut rng);
        let mut prev = GENESIS_PREV;
        let mut lines = Vec::new();
        for index in 0..3 {
            let post = signed(&key, Payload::VotingClosed {});
            let entry = Entry {
                index,
                prev,
                time: 1,
                body: post.body,
                signature: post.signature,
            };
            let line = entry.to_line().unwrap();
            prev = leaf_hash(line.as_bytes());
            lines.push(line);
        }
        let mut f = ChainFollower::new();
        for line in &lines {
            f.accept(line, &Entry::from_line(line).unwrap()).unwrap();
        }
        let mut f = ChainFollower::new();
        f.accept(&lines[0], &Entry::from_line(&lines[0]).unwrap())
            .unwrap();
        assert!(f
            .accept(&lines[2], &Entry::from_line(&lines[2]).unwrap())
            .is_err());
        assert!(Entry::from_line(&lines[0].replace(":", ": ")).is_err());
    }
}
