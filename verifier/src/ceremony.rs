//! The key ceremony, replayed from the log (SPEC.md §11.4; DESIGN.md §4).
//!
//! Registration, commit-then-reveal of the Feldman commitments with their
//! Schnorr proofs and encrypted shares, complaints judged from their public
//! evidence, the qualified set, the joint key, the verification keys and the
//! acknowledgements. Every failure is reported under `V4` with the entry's
//! index.

use psephos_crypto::elgamal::PublicKey;
use psephos_crypto::encoding::Point;
use psephos_crypto::proofs::all_hold;
use psephos_crypto::proofs::dleq::DleqProof;
use psephos_crypto::proofs::schnorr::SchnorrProof;
use psephos_crypto::record::{AuthorKey, EncryptedShare, TrusteeInfo};
use psephos_crypto::share_encryption::{dealer_is_bad, Complaint};
use psephos_crypto::threshold::{coefficient_equations, joint_key, verification_key};
use psephos_crypto::Fingerprint;
use sha2::{Digest, Sha256};

use crate::report::{CheckId, Checks};

const V4: CheckId = CheckId::V4;

/// One trustee's part of the ceremony so far.
#[derive(Debug, Default)]
struct TrusteeState {
    /// `Y_l`, once registered.
    encryption_key: Option<Point>,
    /// The round-1 hash, once committed.
    commit: Option<[u8; 32]>,
    /// A reveal was posted (valid or not).
    revealed: bool,
    /// The valid reveal: commitments `A_ij` and the encrypted shares.
    commitments: Option<(Vec<Point>, Vec<EncryptedShare>)>,
    /// A complaint proved this dealer's share bad.
    proven_bad: bool,
    /// The trustee acknowledged the joint key.
    acked: bool,
}

/// The posted joint key, checked or not.
#[derive(Debug, Clone)]
pub(crate) struct JointKey {
    /// `PK` as posted (ballots are verified against it).
    pub pk: PublicKey,
    /// The election fingerprint.
    pub fingerprint: Fingerprint,
    /// `X_l` for `l = 1..n` as recomputed from the qualified commitments
    /// (as posted where recomputation was impossible).
    pub verification_keys: Vec<Point>,
}

/// The ceremony state.
#[derive(Debug)]
pub(crate) struct Ceremony {
    trustees: Vec<TrusteeInfo>,
    threshold: u32,
    manifest_hash: [u8; 32],
    fingerprint: Fingerprint,
    state: Vec<TrusteeState>,
    joint: Option<JointKey>,
    /// Entry of the board's `dkg_commits_closed`, if round 1 was cut off.
    commits_closed: Option<u64>,
    acks: u32,
    complaints: (u32, u32),
}

impl Ceremony {
    /// Start from the manifest's trustees.
    pub fn new(trustees: &[TrusteeInfo], threshold: u32, manifest_hash: [u8; 32]) -> Self {
        Ceremony {
            trustees: trustees.to_vec(),
            threshold,
            manifest_hash,
            fingerprint: Fingerprint::ceremony(&manifest_hash),
            state: trustees.iter().map(|_| TrusteeState::default()).collect(),
            joint: None,
            commits_closed: None,
            acks: 0,
            complaints: (0, 0),
        }
    }

    fn n(&self) -> usize {
        self.trustees.len()
    }

    /// The joint key, once posted.
    pub fn joint(&self) -> Option<&JointKey> {
        self.joint.as_ref()
    }

    /// How many trustees acknowledged the joint key.
    pub fn acks(&self) -> u32 {
        self.acks
    }

    /// `(founded, unfounded)` complaints seen.
    pub fn complaints(&self) -> (u32, u32) {
        self.complaints
    }

    /// Trustee `l`'s state if `author` is its manifest key.
    fn trustee(&mut self, l: u32, author: &AuthorKey) -> Result<&mut TrusteeState, String> {
        let i = (l as usize)
            .checked_sub(1)
            .filter(|&i| i < self.n())
            .ok_or_else(|| format!("there is no trustee {l} in the manifest"))?;
        if self.trustees[i].key != *author {
            return Err(format!(
                "signed by {}, not by trustee {l}'s key",
                author.to_hex()
            ));
        }
        Ok(&mut self.state[i])
    }

    fn closed(&self, what: &str) -> Result<(), String> {
        if self.joint.is_some() {
            Err(format!("{what} after the joint key was posted"))
        } else {
            Ok(())
        }
    }

    /// `trustee_registration`.
    pub fn registration(
        &mut self,
        checks: &mut Checks,
        index: u64,
        author: &AuthorKey,
        l: u32,
        key: Point,
    ) {
        checks.count(V4, 1);
        let r: Result<_, String> = (|| {
            self.closed("registration")?;
            let t = self.trustee(l, author)?;
            if t.encryption_key.is_some() {
                return Err(format!("trustee {l} is already registered"));
            }
            if key.is_identity() {
                return Err("the encryption key is the identity".into());
            }
            t.encryption_key = Some(key);
            Ok(())
        })();
        if let Err(e) = r {
            checks.fail(V4, Some(index), format!("trustee_registration: {e}"));
        }
    }

    /// `dkg_commit`.
    pub fn commit(
        &mut self,
        checks: &mut Checks,
        index: u64,
        author: &AuthorKey,
        i: u32,
        hash: [u8; 32],
    ) {
        checks.count(V4, 1);
        let r: Result<_, String> = (|| {
            self.closed("commit")?;
            if self.state.iter().any(|t| t.encryption_key.is_none()) {
                return Err("commit before every trustee registered".into());
            }
            if let Some(at) = self.commits_closed {
                return Err(format!(
                    "commit after round-1 commits were closed at entry {at}"
                ));
            }
            let t = self.trustee(i, author)?;
            if t.commit.is_some() {
                return Err(format!("trustee {i} has already committed"));
            }
            t.commit = Some(hash);
            Ok(())
        })();
        if let Err(e) = r {
            checks.fail(V4, Some(index), format!("dkg_commit: {e}"));
        }
    }

    /// `dkg_commits_closed` (author already checked to be the board): the
    /// cut-off of round-1 commits (SPEC.md §8.5.2, §11.4).
    pub fn commits_closed(&mut self, checks: &mut Checks, index: u64) {
        checks.count(V4, 1);
        let committed = self.state.iter().filter(|t| t.commit.is_some()).count();
        let r: Result<_, String> = (|| {
            self.closed("closing commits")?;
            if let Some(at) = self.commits_closed {
                return Err(format!("commits were already closed at entry {at}"));
            }
            if self.state.iter().any(|t| t.encryption_key.is_none()) {
                return Err("closed before every trustee registered".into());
            }
            if committed == self.n() {
                return Err("closed although every trustee had committed".into());
            }
            if committed < self.threshold as usize {
                return Err(format!(
                    "closed with {committed} commits, fewer than the threshold {}",
                    self.threshold
                ));
            }
            Ok(())
        })();
        match r {
            Ok(()) => checks.note(
                V4,
                format!(
                    "entry {index}: round-1 commits closed by the board with {committed} of {} trustees committed",
                    self.n()
                ),
            ),
            Err(e) => checks.fail(V4, Some(index), format!("dkg_commits_closed: {e}")),
        }
        // Lifecycle entries take effect even when a precondition fails
        // (SPEC.md §11), so that one fault is reported once.
        self.commits_closed.get_or_insert(index);
    }

    /// `dkg_commitments`: the reveal, checked against the commit, with its
    /// Schnorr proofs and one encrypted share per other trustee under a
    /// non-identity ephemeral key.
    #[allow(clippy::too_many_arguments)]
    pub fn commitments(
        &mut self,
        checks: &mut Checks,
        index: u64,
        author: &AuthorKey,
        i: u32,
        body_text: &str,
        commitments: Vec<Point>,
        proofs: &[SchnorrProof],
        shares: Vec<EncryptedShare>,
    ) {
        checks.count(V4, 1);
        let fp = self.fingerprint;
        let threshold = self.threshold;
        let n = self.n() as u32;
        let r: Result<_, String> = (|| {
            self.closed("reveal")?;
            if self.commits_closed.is_none() && self.state.iter().any(|t| t.commit.is_none()) {
                return Err("reveal before every trustee committed".into());
            }
            let t = self.trustee(i, author)?;
            if t.commit.is_none() {
                return Err(format!(
                    "trustee {i} did not commit before round-1 commits were closed"
                ));
            }
            if t.revealed {
                return Err(format!("trustee {i} has already revealed"));
            }
            t.revealed = true;
            let digest: [u8; 32] = Sha256::digest(body_text.as_bytes()).into();
            if Some(digest) != t.commit {
                return Err(format!(
                    "SHA-256 of the body is {}, not the hash trustee {i} committed to",
                    hex::encode(digest)
                ));
            }
            let eqs = coefficient_equations(&fp, i, threshold, &commitments, proofs)
                .map_err(|e| e.to_string())?;
            if !all_hold(&eqs) {
                return Err(format!("a coefficient proof of dealer {i} does not verify"));
            }
            let mut to: Vec<u32> = shares.iter().map(|s| s.to).collect();
            to.sort_unstable();
            let expected: Vec<u32> = (1..=n).filter(|&l| l != i).collect();
            if to != expected {
                return Err(format!(
                    "shares go to trustees {to:?}; expected one for each of {expected:?}"
                ));
            }
            // SPEC.md §8.5.2: with E the identity, K = y·E is the identity
            // too and the share's key is public.
            if let Some(s) = shares.iter().find(|s| s.ephemeral.is_identity()) {
                return Err(format!(
                    "the ephemeral key of the share for trustee {} is the identity",
                    s.to
                ));
            }
            t.commitments = Some((commitments, shares));
            Ok(())
        })();
        if let Err(e) = r {
            checks.fail(V4, Some(index), format!("dkg_commitments: {e}"));
        }
    }

    /// `dkg_complaint`: judged from its evidence; a founded one disqualifies
    /// the dealer.
    #[allow(clippy::too_many_arguments)]
    pub fn complaint(
        &mut self,
        checks: &mut Checks,
        index: u64,
        author: &AuthorKey,
        l: u32,
        dealer: u32,
        shared_key: Point,
        proof: DleqProof,
    ) {
        checks.count(V4, 1);
        let fp = self.fingerprint;
        let r: Result<_, String> = (|| {
            self.closed("complaint")?;
            let y = self
                .trustee(l, author)?
                .encryption_key
                .ok_or_else(|| format!("trustee {l} is not registered"))?;
            if dealer == l {
                return Err("a trustee cannot complain about itself".into());
            }
            let d = (dealer as usize)
                .checked_sub(1)
                .filter(|&d| d < self.n())
                .ok_or_else(|| format!("there is no dealer {dealer}"))?;
            let (commitments, shares) = self.state[d]
                .commitments
                .as_ref()
                .ok_or_else(|| format!("dealer {dealer} has no valid reveal to complain about"))?;
            let share = shares
                .iter()
                .find(|s| s.to == l)
                .ok_or_else(|| format!("dealer {dealer} sent no share to trustee {l}"))?;
            let evidence = Complaint { shared_key, proof };
            let bad = dealer_is_bad(
                &fp,
                dealer,
                l,
                &y,
                &share.ephemeral,
                &share.ciphertext,
                commitments,
                &evidence,
            )
            .map_err(|e| format!("the evidence does not verify: {e}"))?;
            Ok(bad)
        })();
        match r {
            Ok(true) => {
                if let Some(t) = (dealer as usize)
                    .checked_sub(1)
                    .and_then(|d| self.state.get_mut(d))
                {
                    t.proven_bad = true;
                }
                self.complaints.0 += 1;
                checks.note(
                    V4,
                    format!("entry {index}: trustee {l} proved dealer {dealer}'s share bad; the dealer is disqualified"),
                );
            }
            Ok(false) => {
                self.complaints.1 += 1;
                checks.note(
                    V4,
                    format!("entry {index}: trustee {l}'s complaint about dealer {dealer} is unfounded (the share is good)"),
                );
            }
            Err(e) => checks.fail(V4, Some(index), format!("dkg_complaint: {e}")),
        }
    }

    /// `joint_key` (author already checked to be the board): qualified set,
    /// `PK` and every `X_l` must match the recomputation.
    pub fn joint_key(
        &mut self,
        checks: &mut Checks,
        index: u64,
        qualified: &[u32],
        pk: PublicKey,
        verification_keys: &[Point],
    ) {
        checks.count(V4, 1);
        let mut fail = |m: String| checks.fail(V4, Some(index), format!("joint_key: {m}"));
        if self.joint.is_some() {
            fail("a second joint key".into());
            return;
        }
        let expected: Vec<u32> = self
            .state
            .iter()
            .zip(1u32..)
            .filter(|(t, _)| t.commitments.is_some() && !t.proven_bad)
            .map(|(_, i)| i)
            .collect();
        let mut posted = qualified.to_vec();
        posted.sort_unstable();
        let duplicates = posted.windows(2).any(|w| w[0] == w[1]);
        if duplicates || posted != expected {
            fail(format!(
                "qualified dealers are {qualified:?}; the log gives {expected:?}"
            ));
        }
        let dealers: Vec<&[Point]> = self
            .state
            .iter()
            .filter(|t| !t.proven_bad)
            .filter_map(|t| t.commitments.as_ref().map(|(a, _)| a.as_slice()))
            .collect();
        let recomputed_vks: Vec<Option<Point>> = (1..=self.n() as u32)
            .map(|l| verification_key(l, &dealers).ok().map(|x| *x.as_point()))
            .collect();
        match joint_key(&dealers) {
            Ok(expected_pk) if expected_pk == pk => {}
            Ok(expected_pk) => fail(format!(
                "public key {} is not Σ A_i0 = {} over the qualified dealers",
                pk.as_point().to_hex(),
                expected_pk.as_point().to_hex()
            )),
            Err(e) => fail(format!("cannot recompute the joint key: {e}")),
        }
        if verification_keys.len() != self.n() {
            fail(format!(
                "{} verification keys for {} trustees",
                verification_keys.len(),
                self.n()
            ));
        } else {
            for (l, (posted, recomputed)) in
                (1u32..).zip(verification_keys.iter().zip(&recomputed_vks))
            {
                if Some(*posted) != *recomputed {
                    fail(format!(
                        "verification key X_{l} does not match the qualified commitments"
                    ));
                }
            }
        }
        let vks = recomputed_vks
            .iter()
            .enumerate()
            .map(|(k, r)| {
                r.or_else(|| verification_keys.get(k).copied())
                    .unwrap_or_else(Point::identity)
            })
            .collect();
        self.joint = Some(JointKey {
            pk,
            fingerprint: Fingerprint::election(&self.manifest_hash, &pk.to_non_identity()),
            verification_keys: vks,
        });
        checks.note(
            V4,
            format!(
                "joint key {} from qualified dealers {expected:?}",
                pk.as_point().to_hex()
            ),
        );
    }

    /// `key_ack`.
    pub fn key_ack(
        &mut self,
        checks: &mut Checks,
        index: u64,
        author: &AuthorKey,
        l: u32,
        pk: PublicKey,
    ) {
        checks.count(V4, 1);
        let joint_pk = self.joint.as_ref().map(|j| j.pk);
        let r: Result<_, String> = (|| {
            let joint_pk = joint_pk.ok_or("acknowledgement before the joint key")?;
            let t = self.trustee(l, author)?;
            if t.acked {
                return Err(format!("trustee {l} has already acknowledged"));
            }
            if pk != joint_pk {
                return Err("acknowledges another public key than the joint key".into());
            }
            t.acked = true;
            Ok(())
        })();
        match r {
            Ok(()) => self.acks += 1,
            Err(e) => checks.fail(V4, Some(index), format!("key_ack: {e}")),
        }
    }
}
