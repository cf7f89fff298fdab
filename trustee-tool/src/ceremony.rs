//! The key ceremony as a typestate (SPEC.md §8.5): each stage is a type
//! consumed by the step that leaves it, so the order cannot be broken in
//! code — a [`KeyHolder`] (the only holder of `x_l`) exists only through
//! [`SharesChecked::finish`], which needs every qualified dealer's share
//! checked against its Feldman commitments and a joint key that counts.
//!
//! What the log says — registrations, commits, valid reveals, complaints
//! and whether they proved a dealer bad, `Q`, `PK` and every `X_m` — is
//! the election state machine's ([`crate::view`]). What needs this
//! trustee's secrets stays here: decrypting and checking the shares dealt
//! to it (§8.3, §8.1) and computing `x_l` (§8.5.4).
//!
//! ```text
//! Enrolled ──deal──▶ Dealt ──into_checking──▶ SharesChecked ──finish──▶ KeyHolder
//!     └────────────────into_checking (did not deal)──┘
//! ```
//!
//! These types hold no I/O; [`crate::steps`] reads the board, calls them,
//! saves the key file and posts.

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::SigningKey;
use psephos_crypto::elgamal::{Ciphertext, PublicKey, SecretKey};
use psephos_crypto::encoding::{Point, Scalar};
use psephos_crypto::log::merkle::Hash;
use psephos_crypto::record::{AuthorKey, Body, EncryptedShare, Payload, Post};
use psephos_crypto::share_encryption::{decrypt_share, encrypt_share, make_complaint};
use psephos_crypto::threshold::{check_share, KeyShare, Polynomial};
use psephos_crypto::Fingerprint;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use crate::error::{Result, TrusteeError};
use crate::view::ElectionView;

/// A trustee's long-term keys: the Ed25519 key its posts are signed with
/// (named in the manifest) and the Ristretto key `y_l` its shares are
/// encrypted to (SPEC.md §8.3).
pub struct TrusteeKeys {
    signing: SigningKey,
    encryption: SecretKey,
}

impl std::fmt::Debug for TrusteeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrusteeKeys({}, <redacted>)", self.author().to_hex())
    }
}

impl TrusteeKeys {
    /// Fresh keys.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        TrusteeKeys {
            signing: SigningKey::generate(rng),
            encryption: SecretKey::random(rng),
        }
    }

    /// Rebuild from a key file.
    pub fn from_parts(signing: SigningKey, encryption: SecretKey) -> Self {
        TrusteeKeys {
            signing,
            encryption,
        }
    }

    /// The public signing key, for the administrator's manifest.
    pub fn author(&self) -> AuthorKey {
        AuthorKey::of(&self.signing)
    }

    /// `Y_l`.
    pub fn encryption_public(&self) -> PublicKey {
        self.encryption.public_key()
    }

    pub(crate) fn signing(&self) -> &SigningKey {
        &self.signing
    }

    pub(crate) fn encryption(&self) -> &SecretKey {
        &self.encryption
    }

    /// Sign a payload for `election`.
    pub fn sign(&self, election: &str, payload: Payload) -> Result<Post> {
        let body = Body {
            election: election.to_owned(),
            author: self.author(),
            payload,
        };
        Ok(Post::sign(&body, &self.signing)?)
    }
}

/// `"2, 5"`, or `"none"`.
pub fn list(items: &[u32]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A trustee bound to one election: it knows its index `l` there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolled {
    election: String,
    index: u32,
    manifest_hash: Hash,
}

impl Enrolled {
    /// Find this trustee in the election's manifest.
    pub fn find(keys: &TrusteeKeys, view: &ElectionView) -> Result<Self> {
        let index = view.trustee_index(&keys.author()).ok_or_else(|| {
            TrusteeError::Protocol(format!(
                "this key ({}) is not a trustee of election {:?}; the manifest names {}",
                keys.author().to_hex(),
                view.id(),
                view.manifest()
                    .trustees
                    .iter()
                    .map(|t| format!("{} ({})", t.index, t.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        Ok(Enrolled {
            election: view.id().to_owned(),
            index,
            manifest_hash: *view.manifest_hash(),
        })
    }

    pub(crate) fn restore(election: String, index: u32, manifest_hash: Hash) -> Self {
        Enrolled {
            election,
            index,
            manifest_hash,
        }
    }

    /// `l`.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The election id.
    pub fn election(&self) -> &str {
        &self.election
    }

    /// Leaf hash of the manifest this enrolment belongs to.
    pub fn manifest_hash(&self) -> &Hash {
        &self.manifest_hash
    }

    /// Refuse a view of another election or a recreated one.
    pub fn check_view(&self, view: &ElectionView) -> Result<()> {
        if view.id() != self.election || *view.manifest_hash() != self.manifest_hash {
            return Err(TrusteeError::Protocol(format!(
                "the key file's state for election {:?} belongs to another manifest \
                 (was the election recreated?); use a fresh key file",
                self.election
            )));
        }
        Ok(())
    }

    /// The `trustee_registration` post (SPEC.md §8.5.1).
    pub fn registration(&self, keys: &TrusteeKeys) -> Result<Post> {
        keys.sign(
            &self.election,
            Payload::TrusteeRegistration {
                trustee: self.index,
                encryption_key: *keys.encryption_public().as_point(),
            },
        )
    }

    /// Round 1 (SPEC.md §8.5.2): pick `f_l`, prove its coefficients, and
    /// encrypt `f_l(m)` to every other trustee `m`. Needs all `n`
    /// registrations.
    pub fn deal<R: RngCore + CryptoRng>(
        self,
        keys: &TrusteeKeys,
        view: &ElectionView,
        rng: &mut R,
    ) -> Result<Dealt> {
        self.check_view(view)?;
        let registrations = &view.ceremony().registrations;
        let missing = view.missing(registrations);
        if !missing.is_empty() {
            return Err(TrusteeError::Protocol(format!(
                "round 1 needs every trustee registered; missing {}",
                list(&missing)
            )));
        }
        let fp = view.ceremony_fp();
        let polynomial = Polynomial::random(view.t(), rng)?;
        let mut shares = Vec::with_capacity(view.n() as usize - 1);
        for (&m, y) in registrations {
            if m == self.index {
                continue;
            }
            let y = y.non_identity("encryption key")?;
            let mut share = polynomial.evaluate(m);
            let sealed = encrypt_share(fp, self.index, m, &y, &share, rng);
            share.zeroize();
            let (ephemeral, ciphertext) = sealed?;
            shares.push(EncryptedShare {
                to: m,
                ephemeral,
                ciphertext,
            });
        }
        let body = Body {
            election: self.election.clone(),
            author: keys.author(),
            payload: Payload::DkgCommitments {
                trustee: self.index,
                commitments: polynomial.commitments(),
                proofs: polynomial.prove_coefficients(fp, self.index, rng),
                shares,
            },
        };
        let body = serde_json::to_string(&body)
            .map_err(|e| TrusteeError::Protocol(format!("cannot serialize round 1: {e}")))?;
        Ok(Dealt {
            enrolled: self,
            polynomial,
            body,
        })
    }

    /// Skip dealing: this trustee did not reveal in round 1 (the ceremony
    /// went on without it) but can still receive shares and hold `x_l`.
    pub fn into_checking(self) -> SharesChecked {
        SharesChecked {
            enrolled: self,
            checked: BTreeMap::new(),
            accused: BTreeSet::new(),
        }
    }
}

/// Round 1 done locally: the polynomial and the exact body text whose hash
/// is committed. Saved to the key file before the commit is posted, so a
/// crash never leaves a commit on the board that this trustee cannot open.
pub struct Dealt {
    enrolled: Enrolled,
    polynomial: Polynomial,
    body: String,
}

impl std::fmt::Debug for Dealt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Dealt(trustee {}, {:?})",
            self.enrolled.index, self.polynomial
        )
    }
}

impl Dealt {
    pub(crate) fn restore(enrolled: Enrolled, polynomial: Polynomial, body: String) -> Self {
        Dealt {
            enrolled,
            polynomial,
            body,
        }
    }

    /// The enrolment.
    pub fn enrolled(&self) -> &Enrolled {
        &self.enrolled
    }

    /// The exact text of the `dkg_commitments` body.
    pub fn body(&self) -> &str {
        &self.body
    }

    pub(crate) fn polynomial(&self) -> &Polynomial {
        &self.polynomial
    }

    /// `SHA-256(body text)`.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.body.as_bytes()).into()
    }

    /// The `dkg_commit` post.
    pub fn commit(&self, keys: &TrusteeKeys) -> Result<Post> {
        keys.sign(
            &self.enrolled.election,
            Payload::DkgCommit {
                trustee: self.enrolled.index,
                hash: self.hash(),
            },
        )
    }

    /// The `dkg_commitments` post: the committed bytes, signed verbatim.
    pub fn reveal(&self, keys: &TrusteeKeys) -> Result<Post> {
        Ok(Post::sign_text(self.body.clone(), keys.signing())?)
    }

    /// Start round 2. Own share `f_l(l)` counts as checked when this
    /// trustee's reveal is valid on the log; otherwise (the ceremony went
    /// on without it) the dealing is void and dropped.
    pub fn into_checking(self, view: &ElectionView) -> SharesChecked {
        let l = self.enrolled.index;
        let mut checked = BTreeMap::new();
        if let Some(reveal) = view.ceremony().revealed.get(&l) {
            if reveal.commitments == self.polynomial.commitments() {
                checked.insert(l, self.polynomial.evaluate(l));
            }
        }
        SharesChecked {
            enrolled: self.enrolled.clone(),
            checked,
            accused: BTreeSet::new(),
        }
    }
}

/// A complaint to post against `dealer`.
#[derive(Debug)]
pub struct ComplaintDraft {
    /// The accused dealer.
    pub dealer: u32,
    /// Why its share is bad.
    pub why: String,
}

/// Round 2 (SPEC.md §8.5.3): shares received and checked so far, dealers
/// accused. Grows as more dealers reveal.
pub struct SharesChecked {
    enrolled: Enrolled,
    checked: BTreeMap<u32, Scalar>,
    accused: BTreeSet<u32>,
}

impl Drop for SharesChecked {
    fn drop(&mut self) {
        for s in self.checked.values_mut() {
            s.zeroize();
        }
    }
}

impl std::fmt::Debug for SharesChecked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SharesChecked(trustee {}, good from {:?}, accused {:?})",
            self.enrolled.index,
            self.checked.keys().collect::<Vec<_>>(),
            self.accused
        )
    }
}

impl SharesChecked {
    pub(crate) fn restore(
        enrolled: Enrolled,
        checked: BTreeMap<u32, Scalar>,
        accused: BTreeSet<u32>,
    ) -> Self {
        SharesChecked {
            enrolled,
            checked,
            accused,
        }
    }

    /// The enrolment.
    pub fn enrolled(&self) -> &Enrolled {
        &self.enrolled
    }

    /// Dealers whose share checked out.
    pub fn good(&self) -> Vec<u32> {
        self.checked.keys().copied().collect()
    }

    pub(crate) fn checked(&self) -> &BTreeMap<u32, Scalar> {
        &self.checked
    }

    /// Dealers this trustee accuses.
    pub fn accused(&self) -> Vec<u32> {
        self.accused.iter().copied().collect()
    }

    /// Decrypt and check the share of every dealer whose reveal counts,
    /// since the last call (SPEC.md §8.1, §8.3). Returns the new
    /// accusations.
    pub fn check_new(&mut self, keys: &TrusteeKeys, view: &ElectionView) -> Vec<ComplaintDraft> {
        let l = self.enrolled.index;
        let fp = view.ceremony_fp();
        let mut drafts = Vec::new();
        for (&i, reveal) in &view.ceremony().revealed {
            if i == l || self.checked.contains_key(&i) || self.accused.contains(&i) {
                continue;
            }
            let verdict = match reveal.shares.iter().find(|s| s.to == l) {
                None => Err("no share for this trustee".to_owned()),
                Some(s) => {
                    match decrypt_share(fp, i, l, keys.encryption(), &s.ephemeral, &s.ciphertext) {
                        Err(e) => Err(e.to_string()),
                        Ok(share) if check_share(&share, l, &reveal.commitments) => Ok(share),
                        Ok(mut share) => {
                            share.zeroize();
                            Err("the share does not match the dealer's commitments".to_owned())
                        }
                    }
                }
            };
            match verdict {
                Ok(share) => {
                    self.checked.insert(i, share);
                }
                Err(why) => {
                    self.accused.insert(i);
                    drafts.push(ComplaintDraft { dealer: i, why });
                }
            }
        }
        drafts
    }

    /// The complaint against `dealer` (SPEC.md §8.3).
    pub fn complaint<R: RngCore + CryptoRng>(
        &self,
        keys: &TrusteeKeys,
        view: &ElectionView,
        dealer: u32,
        rng: &mut R,
    ) -> Result<Post> {
        let l = self.enrolled.index;
        let share = view
            .ceremony()
            .revealed
            .get(&dealer)
            .and_then(|r| r.shares.iter().find(|s| s.to == l))
            .ok_or_else(|| {
                TrusteeError::Protocol(format!(
                    "dealer {dealer} revealed no share for trustee {l}: nothing to complain with"
                ))
            })?;
        let c = make_complaint(
            view.ceremony_fp(),
            dealer,
            l,
            keys.encryption(),
            &share.ephemeral,
            rng,
        );
        keys.sign(
            &self.enrolled.election,
            Payload::DkgComplaint {
                trustee: l,
                dealer,
                shared_key: c.shared_key,
                proof: c.proof,
            },
        )
    }

    /// Finish the ceremony (SPEC.md §8.5.4): take the `joint_key` entry
    /// that counts — the state machine counts it only if `Q`, `PK` and
    /// every `X_m` equal their recomputation from the log, and reading
    /// the log stops at one that does not — sum `x_l = Σ_{i∈Q} f_i(l)`
    /// from checked shares only, and require `x_l·G = X_l`.
    pub fn finish(self, view: &ElectionView) -> Result<KeyHolder> {
        self.enrolled.check_view(view)?;
        let joint = view
            .joint()
            .ok_or_else(|| TrusteeError::Protocol("no joint_key entry yet".into()))?;
        let l = self.enrolled.index;
        let mut shares = Vec::with_capacity(joint.qualified.len());
        for i in &joint.qualified {
            match self.checked.get(i) {
                Some(s) => shares.push(*s),
                None if self.accused.contains(i) => {
                    return Err(TrusteeError::Protocol(format!(
                        "dealer {i} gave trustee {l} a bad share but is qualified (no valid \
                         complaint reached the board before the joint key): trustee {l} cannot \
                         hold a valid key share"
                    )))
                }
                None => {
                    return Err(TrusteeError::Protocol(format!(
                        "the share from dealer {i} has not been checked yet: run round2"
                    )))
                }
            }
        }
        let share = KeyShare::combine_shares(l, &shares);
        for s in &mut shares {
            s.zeroize();
        }
        let vk = share.verification_key();
        let expected_vk = joint
            .verification_keys
            .get((l as usize).wrapping_sub(1))
            .copied()
            .ok_or_else(|| TrusteeError::BoardMisbehaves(format!("no X_{l}")))?;
        if vk != expected_vk {
            return Err(TrusteeError::Protocol(format!(
                "x_{l}·G is not X_{l}: the combined share is wrong"
            )));
        }
        Ok(KeyHolder {
            enrolled: self.enrolled.clone(),
            share,
            public_key: joint.pk,
            verification_key: vk,
            qualified: joint.qualified.clone(),
        })
    }
}

/// The ceremony's outcome for this trustee: `x_l`, checked against `X_l`
/// and the board's joint key. Only a `KeyHolder` can decrypt.
pub struct KeyHolder {
    enrolled: Enrolled,
    share: KeyShare,
    public_key: PublicKey,
    verification_key: Point,
    qualified: Vec<u32>,
}

impl std::fmt::Debug for KeyHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "KeyHolder(trustee {}, PK {}, {:?})",
            self.enrolled.index,
            self.public_key.as_point().to_hex(),
            self.share
        )
    }
}

impl KeyHolder {
    pub(crate) fn restore(
        enrolled: Enrolled,
        x: Scalar,
        public_key: PublicKey,
        qualified: Vec<u32>,
    ) -> Self {
        let share = KeyShare::from_scalar(enrolled.index, x);
        let verification_key = share.verification_key();
        KeyHolder {
            enrolled,
            share,
            public_key,
            verification_key,
            qualified,
        }
    }

    /// The enrolment.
    pub fn enrolled(&self) -> &Enrolled {
        &self.enrolled
    }

    /// `PK`.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// `X_l`.
    pub fn verification_key(&self) -> &Point {
        &self.verification_key
    }

    /// The qualified dealers.
    pub fn qualified(&self) -> &[u32] {
        &self.qualified
    }

    pub(crate) fn share(&self) -> &KeyShare {
        &self.share
    }

    /// The `key_ack` post.
    pub fn ack(&self, keys: &TrusteeKeys) -> Result<Post> {
        keys.sign(
            &self.enrolled.election,
            Payload::KeyAck {
                trustee: self.enrolled.index,
                public_key: self.public_key,
            },
        )
    }

    /// The election fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::election(
            &self.enrolled.manifest_hash,
            &self.public_key.to_non_identity(),
        )
    }

    /// The `partial_decryption` post for `tally` (SPEC.md §8.4).
    pub fn partial_decryption<R: RngCore + CryptoRng>(
        &self,
        keys: &TrusteeKeys,
        tally: &[Ciphertext],
        rng: &mut R,
    ) -> Result<Post> {
        let shares = self.share.decrypt(&self.fingerprint(), tally, rng);
        keys.sign(
            &self.enrolled.election,
            Payload::PartialDecryption {
                trustee: self.enrolled.index,
                shares,
            },
        )
    }
}
