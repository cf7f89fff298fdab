//! The key ceremony rules (SPEC.md §8.5, §10.3 rules 1–6, §11.4).

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use crate::elgamal::PublicKey;
use crate::proofs::all_hold;
use crate::proofs::dleq::DleqProof;
use crate::proofs::schnorr::SchnorrProof;
use crate::record::{AuthorKey, EncryptedShare, Payload};
use crate::share_encryption::{dealer_is_bad, Complaint};
use crate::threshold::{coefficient_equations, joint_key, verification_key};
use crate::{Fingerprint, Point};

use super::violation::{broken, Rule, Violation};
use super::{Effect, Election, Phase, Trust};

/// A dealer's valid round-1 reveal.
#[derive(Clone, Debug)]
pub struct Reveal {
    /// `A_ij`, `j = 0..t-1`.
    pub commitments: Vec<Point>,
    /// One encrypted share per other trustee.
    pub shares: Vec<EncryptedShare>,
}

/// A complaint whose evidence verified.
#[derive(Clone, Debug)]
pub struct ComplaintRecord {
    /// Complaining trustee `l`.
    pub trustee: u32,
    /// Accused dealer `i`.
    pub dealer: u32,
    /// Revealed `K`.
    pub shared_key: Point,
    /// DLEQ proof of `K`.
    pub proof: DleqProof,
    /// The share was bad: dealer `i` is disqualified (SPEC.md §8.5.3).
    pub founded: bool,
}

/// The joint key entry, with the verification keys recomputed from the
/// qualified dealers' commitments (SPEC.md §11.4).
#[derive(Clone, Debug)]
pub struct JointKey {
    /// Qualified dealers, increasing.
    pub qualified: Vec<u32>,
    /// `PK` as posted.
    pub pk: PublicKey,
    /// `X_l`, `l = 1..n`.
    pub verification_keys: Vec<Point>,
    /// `Fingerprint::election(manifest_hash, PK)`.
    pub fingerprint: Fingerprint,
}

/// The ceremony so far: only posts that count (SPEC.md §8.5).
#[derive(Clone, Debug, Default)]
pub struct Ceremony {
    /// `l ↦ Y_l`.
    pub registrations: BTreeMap<u32, Point>,
    /// `i ↦` committed hash.
    pub commits: BTreeMap<u32, [u8; 32]>,
    /// Index of the board's `dkg_commits_closed`.
    pub commits_closed: Option<u64>,
    /// `i ↦` valid reveal.
    pub revealed: BTreeMap<u32, Reveal>,
    /// Complaints with valid evidence, in log order.
    pub complaints: Vec<ComplaintRecord>,
    /// The joint key, once posted.
    pub joint: Option<JointKey>,
    /// Trustees that acknowledged `PK`.
    pub acks: BTreeSet<u32>,
}

impl Ceremony {
    /// `Q`: dealers with a valid reveal that no founded complaint
    /// disqualified, increasing (SPEC.md §8.5.4).
    pub fn qualified(&self) -> Vec<u32> {
        let bad: BTreeSet<u32> = self
            .complaints
            .iter()
            .filter(|c| c.founded)
            .map(|c| c.dealer)
            .collect();
        self.revealed
            .keys()
            .copied()
            .filter(|i| !bad.contains(i))
            .collect()
    }
}

impl Election {
    fn ceremony_open(&self, what: &str) -> Result<(), Violation> {
        if self.phase > Phase::KeyCeremony || self.ceremony.joint.is_some() {
            return broken(
                Rule::CeremonyOver,
                format!(
                    "{what} is not allowed once the joint key is posted (the election is {})",
                    self.phase.as_str()
                ),
            );
        }
        Ok(())
    }

    fn all_registered(&self) -> bool {
        self.ceremony.registrations.len() == self.n() as usize
    }

    /// `trustee_registration` (SPEC.md §10.3 rule 1).
    pub(super) fn register(
        &mut self,
        author: &AuthorKey,
        l: u32,
        key: &Point,
    ) -> Result<Effect, Violation> {
        self.ceremony_open("trustee_registration")?;
        self.trustee_authored(author, l)?;
        if self.ceremony.registrations.contains_key(&l) {
            return broken(
                Rule::DuplicateRegistration,
                format!("trustee {l} is already registered"),
            );
        }
        if key.is_identity() {
            return broken(
                Rule::IdentityEncryptionKey,
                "the encryption key must not be the identity",
            );
        }
        self.ceremony.registrations.insert(l, *key);
        self.phase = Phase::KeyCeremony;
        Ok(Effect::default())
    }

    /// `dkg_commit` (SPEC.md §10.3 rule 2).
    pub(super) fn commit(
        &mut self,
        _index: u64,
        author: &AuthorKey,
        i: u32,
        hash: &[u8; 32],
    ) -> Result<Effect, Violation> {
        self.ceremony_open("dkg_commit")?;
        self.trustee_authored(author, i)?;
        if !self.all_registered() {
            return broken(
                Rule::CommitBeforeRegistrations,
                format!(
                    "dkg_commit needs all {} trustees registered; {} are",
                    self.n(),
                    self.ceremony.registrations.len()
                ),
            );
        }
        if let Some(at) = self.ceremony.commits_closed {
            return broken(
                Rule::CommitAfterClose,
                format!("round-1 commits were closed at entry {at}; the trustees that committed reveal without this one"),
            );
        }
        if self.ceremony.commits.contains_key(&i) {
            return broken(
                Rule::DuplicateCommit,
                format!("trustee {i} has already committed"),
            );
        }
        self.ceremony.commits.insert(i, *hash);
        Ok(Effect::default())
    }

    /// What `close-commits` may append, or why not (SPEC.md §10.3 rule 2).
    pub fn close_commits(&self) -> Result<Payload, Violation> {
        let n = self.n() as usize;
        let not_allowed = |why: String| broken(Rule::CommitsCloseNotAllowed, why);
        if self.phase != Phase::KeyCeremony || self.ceremony.joint.is_some() {
            return not_allowed(format!(
                "closing commits needs the key ceremony in progress without a joint key; the election is {}",
                self.phase.as_str()
            ));
        }
        if let Some(at) = self.ceremony.commits_closed {
            return not_allowed(format!("round-1 commits were already closed at entry {at}"));
        }
        if !self.all_registered() {
            return not_allowed(format!(
                "round 1 has not started: {} of {n} trustees have registered",
                self.ceremony.registrations.len()
            ));
        }
        let committed = self.ceremony.commits.len();
        if committed == n {
            return not_allowed("every trustee has committed: there is nothing to close".into());
        }
        if committed < self.t() as usize {
            return broken(
                Rule::TooFewCommits,
                format!(
                    "only {committed} of {n} trustees have committed; the threshold is {}, so the ceremony could not produce a key",
                    self.t()
                ),
            );
        }
        Ok(Payload::DkgCommitsClosed {})
    }

    pub(super) fn close_commits_entry(
        &mut self,
        index: u64,
        author: &AuthorKey,
    ) -> Result<Effect, Violation> {
        self.board_authored(author, "dkg_commits_closed")?;
        self.close_commits()?;
        self.ceremony.commits_closed = Some(index);
        Ok(Effect::default())
    }

    /// `dkg_commitments`, the reveal (SPEC.md §8.5.2, §10.3 rule 3).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn reveal(
        &mut self,
        author: &AuthorKey,
        i: u32,
        body_text: &str,
        commitments: &[Point],
        proofs: &[SchnorrProof],
        shares: &[EncryptedShare],
        trust: Trust,
    ) -> Result<Effect, Violation> {
        self.ceremony_open("dkg_commitments")?;
        self.trustee_authored(author, i)?;
        let n = self.n();
        if self.ceremony.commits.len() != n as usize && self.ceremony.commits_closed.is_none() {
            return broken(
                Rule::RevealBeforeCommits,
                format!(
                    "dkg_commitments may be revealed only once all {n} dkg_commit posts are on the log (or commits are closed); {} are",
                    self.ceremony.commits.len()
                ),
            );
        }
        let Some(committed) = self.ceremony.commits.get(&i) else {
            return broken(
                Rule::RevealWithoutCommit,
                format!("trustee {i} did not commit before round-1 commits were closed"),
            );
        };
        if self.ceremony.revealed.contains_key(&i) {
            return broken(
                Rule::DuplicateReveal,
                format!("trustee {i} has already revealed"),
            );
        }
        let digest: [u8; 32] = Sha256::digest(body_text.as_bytes()).into();
        if *committed != digest {
            return broken(
                Rule::CommitmentMismatch,
                format!(
                    "SHA-256 of this body is {}, not the hash trustee {i} committed to",
                    hex::encode(digest)
                ),
            );
        }
        check_coefficients(&self.ceremony_fp, i, self.t(), commitments, proofs, trust)?;
        check_shares(n, i, shares)?;
        self.ceremony.revealed.insert(
            i,
            Reveal {
                commitments: commitments.to_vec(),
                shares: shares.to_vec(),
            },
        );
        Ok(Effect::default())
    }

    /// `dkg_complaint`, judged from its evidence (SPEC.md §8.5.3, §10.3 rule 4).
    pub(super) fn complain(
        &mut self,
        author: &AuthorKey,
        l: u32,
        dealer: u32,
        shared_key: &Point,
        proof: &DleqProof,
    ) -> Result<Effect, Violation> {
        self.ceremony_open("dkg_complaint")?;
        self.trustee_authored(author, l)?;
        let Some(y) = self.ceremony.registrations.get(&l) else {
            return broken(
                Rule::InvalidComplaint,
                format!("trustee {l} is not registered"),
            );
        };
        if dealer == l {
            return broken(
                Rule::InvalidComplaint,
                "a trustee cannot complain about itself",
            );
        }
        let Some(reveal) = self.ceremony.revealed.get(&dealer) else {
            return broken(
                Rule::ComplaintBeforeReveal,
                format!("dealer {dealer} has no valid reveal to complain about"),
            );
        };
        if self
            .ceremony
            .complaints
            .iter()
            .any(|c| c.trustee == l && c.dealer == dealer)
        {
            return broken(
                Rule::DuplicateComplaint,
                format!("trustee {l} has already complained about dealer {dealer}"),
            );
        }
        let Some(share) = reveal.shares.iter().find(|s| s.to == l) else {
            return broken(
                Rule::InvalidComplaint,
                format!("dealer {dealer} has no share for trustee {l}"),
            );
        };
        let evidence = Complaint {
            shared_key: *shared_key,
            proof: *proof,
        };
        let founded = dealer_is_bad(
            &self.ceremony_fp,
            dealer,
            l,
            y,
            &share.ephemeral,
            &share.ciphertext,
            &reveal.commitments,
            &evidence,
        )
        .map_err(|e| {
            Violation::new(
                Rule::InvalidComplaintProof,
                format!("the complaint's evidence does not verify: {e}"),
            )
        })?;
        self.ceremony.complaints.push(ComplaintRecord {
            trustee: l,
            dealer,
            shared_key: *shared_key,
            proof: *proof,
            founded,
        });
        Ok(Effect {
            complaint_founded: Some(founded),
            ..Effect::default()
        })
    }

    /// What `finalize-keys` appends, or why not (SPEC.md §8.5.4, §10.3 rule 5).
    pub fn finalize_keys(&self) -> Result<Payload, Violation> {
        let (qualified, public_key, verification_keys) = self.recompute_joint_key()?;
        Ok(Payload::JointKey {
            qualified,
            public_key,
            verification_keys,
        })
    }

    fn recompute_joint_key(&self) -> Result<(Vec<u32>, PublicKey, Vec<Point>), Violation> {
        if self.phase != Phase::KeyCeremony || self.ceremony.joint.is_some() {
            return broken(
                Rule::JointKeyNotAllowed,
                format!(
                    "the joint key needs the key ceremony in progress without a joint key; the election is {}",
                    self.phase.as_str()
                ),
            );
        }
        let n = self.n();
        if !self.all_registered() {
            return broken(
                Rule::JointKeyEarly,
                format!(
                    "{} of {n} trustees have registered",
                    self.ceremony.registrations.len()
                ),
            );
        }
        let qualified = self.ceremony.qualified();
        if qualified.len() < self.t() as usize {
            return broken(
                Rule::TooFewQualified,
                format!(
                    "only {} qualified dealers ({qualified:?}); the threshold is {}",
                    qualified.len(),
                    self.t()
                ),
            );
        }
        let dealers = self.dealer_commitments(&qualified);
        let pk = joint_key(&dealers)
            .map_err(|e| Violation::new(Rule::TooFewQualified, format!("no joint key: {e}")))?;
        let mut vks = Vec::with_capacity(n as usize);
        for l in 1..=n {
            let x = verification_key(l, &dealers).map_err(|e| {
                Violation::new(
                    Rule::TooFewQualified,
                    format!("no verification key X_{l}: {e}"),
                )
            })?;
            vks.push(*x.as_point());
        }
        Ok((qualified, pk, vks))
    }

    fn dealer_commitments(&self, qualified: &[u32]) -> Vec<&[Point]> {
        qualified
            .iter()
            .filter_map(|i| self.ceremony.revealed.get(i))
            .map(|r| r.commitments.as_slice())
            .collect()
    }

    /// `joint_key`: the board's entry must be what [`finalize_keys`]
    /// gives (SPEC.md §10.3 rule 5, §11.4).
    ///
    /// [`finalize_keys`]: Election::finalize_keys
    pub(super) fn joint_key_entry(
        &mut self,
        author: &AuthorKey,
        qualified: &[u32],
        public_key: &PublicKey,
        verification_keys: &[Point],
    ) -> Result<Effect, Violation> {
        self.board_authored(author, "joint_key")?;
        let (expected_q, expected_pk, expected_vks) = self.recompute_joint_key()?;
        if qualified != expected_q.as_slice() {
            return broken(
                Rule::QualifiedMismatch,
                format!("qualified dealers are {qualified:?}; the log gives {expected_q:?}"),
            );
        }
        if *public_key != expected_pk {
            return broken(
                Rule::JointKeyMismatch,
                format!(
                    "public key {} is not Σ A_i0 = {} over the qualified dealers",
                    public_key.as_point().to_hex(),
                    expected_pk.as_point().to_hex()
                ),
            );
        }
        if verification_keys != expected_vks.as_slice() {
            let which: Vec<usize> = (0..expected_vks.len())
                .filter(|&k| verification_keys.get(k) != expected_vks.get(k))
                .map(|k| k + 1)
                .collect();
            return broken(
                Rule::JointKeyMismatch,
                format!(
                    "{} verification keys for {} trustees; X_l for l in {which:?} do not match the qualified commitments",
                    verification_keys.len(),
                    expected_vks.len()
                ),
            );
        }
        self.set_joint(expected_q, *public_key, expected_vks);
        Ok(Effect::default())
    }

    fn set_joint(&mut self, qualified: Vec<u32>, pk: PublicKey, verification_keys: Vec<Point>) {
        self.ceremony.joint = Some(JointKey {
            qualified,
            pk,
            verification_keys,
            fingerprint: Fingerprint::election(&self.manifest_hash, &pk.to_non_identity()),
        });
    }

    /// A verifier goes on after a faulty joint key with the posted `PK`
    /// (ballots are encrypted to it) and the recomputed `X_l` where they
    /// can be recomputed (SPEC.md §11.4).
    pub(super) fn force_joint_key(
        &mut self,
        qualified: &[u32],
        public_key: &PublicKey,
        posted_vks: &[Point],
    ) {
        if self.ceremony.joint.is_some() {
            return;
        }
        let expected = self.ceremony.qualified();
        let dealers = self.dealer_commitments(&expected);
        let vks = (1..=self.n())
            .map(|l| {
                verification_key(l, &dealers)
                    .ok()
                    .map(|x| *x.as_point())
                    .or_else(|| posted_vks.get(l as usize - 1).copied())
                    .unwrap_or_else(Point::identity)
            })
            .collect();
        self.set_joint(qualified.to_vec(), *public_key, vks);
    }

    /// `key_ack` (SPEC.md §8.5.4, §10.3 rule 6).
    pub(super) fn acknowledge(
        &mut self,
        author: &AuthorKey,
        l: u32,
        public_key: &PublicKey,
    ) -> Result<Effect, Violation> {
        let Some(joint) = &self.ceremony.joint else {
            return broken(
                Rule::AckNotAllowed,
                "key_ack needs the joint_key entry first",
            );
        };
        if self.phase >= Phase::Open {
            return broken(
                Rule::AckNotAllowed,
                format!(
                    "key_ack is not allowed once voting has opened (the election is {})",
                    self.phase.as_str()
                ),
            );
        }
        let pk = joint.pk;
        self.trustee_authored(author, l)?;
        if self.ceremony.acks.contains(&l) {
            return broken(
                Rule::DuplicateAck,
                format!("trustee {l} has already acknowledged the key"),
            );
        }
        if *public_key != pk {
            return broken(
                Rule::AckKeyMismatch,
                "the acknowledged key is not the joint key on the log",
            );
        }
        self.ceremony.acks.insert(l);
        if self.ceremony.acks.len() >= self.t() as usize {
            self.phase = self.phase.max(Phase::Ready);
        }
        Ok(Effect::default())
    }
}

/// Exactly `t` commitments, none the identity, each with a Schnorr proof
/// that verifies under the ceremony fingerprint (SPEC.md §8.2, §8.5.2).
/// Proofs are not re-verified for the board's own log.
pub fn check_coefficients(
    fp: &Fingerprint,
    dealer: u32,
    t: u32,
    commitments: &[Point],
    proofs: &[SchnorrProof],
    trust: Trust,
) -> Result<(), Violation> {
    let bad = |why: String| broken(Rule::InvalidCoefficients, why);
    if commitments.len() != t as usize || proofs.len() != t as usize {
        return bad(format!(
            "{} commitments and {} proofs; the threshold is {t}",
            commitments.len(),
            proofs.len()
        ));
    }
    if let Some(j) = commitments.iter().position(Point::is_identity) {
        return bad(format!("commitment A_{dealer}{j} is the identity"));
    }
    if trust == Trust::OwnLog {
        return Ok(());
    }
    let eqs = coefficient_equations(fp, dealer, t, commitments, proofs)
        .map_err(|e| Violation::new(Rule::InvalidCoefficients, e.to_string()))?;
    if !all_hold(&eqs) {
        return bad(format!(
            "a coefficient proof of dealer {dealer} does not verify"
        ));
    }
    Ok(())
}

/// An encrypted share: the 32-byte scalar and the 16-byte AEAD tag (SPEC.md §8.3).
pub const SHARE_CIPHERTEXT_BYTES: usize = 48;

/// Exactly one share for each other trustee, each of 48 bytes, none under an identity
/// ephemeral key (SPEC.md §8.5.2: with `E` the identity, `K = y·E` is the
/// identity too and the share's key is public).
pub fn check_shares(n: u32, dealer: u32, shares: &[EncryptedShare]) -> Result<(), Violation> {
    let mut to: Vec<u32> = shares.iter().map(|s| s.to).collect();
    to.sort_unstable();
    let expected: Vec<u32> = (1..=n).filter(|&l| l != dealer).collect();
    if to != expected {
        return broken(
            Rule::InvalidShares,
            format!("shares go to trustees {to:?}; expected exactly one for each of {expected:?}"),
        );
    }
    if let Some(s) = shares
        .iter()
        .find(|s| s.ciphertext.len() != SHARE_CIPHERTEXT_BYTES)
    {
        return broken(
            Rule::InvalidShares,
            format!(
                "the share for trustee {} is {} bytes, not {SHARE_CIPHERTEXT_BYTES}",
                s.to,
                s.ciphertext.len()
            ),
        );
    }
    if let Some(s) = shares.iter().find(|s| s.ephemeral.is_identity()) {
        return broken(
            Rule::InvalidShares,
            format!(
                "the ephemeral key of the share for trustee {} is the identity",
                s.to
            ),
        );
    }
    Ok(())
}
