//! The rules of an election, each named once (SPEC.md §8.5, §10.3–§10.5,
//! §11), and the typed violation every role receives when an entry breaks
//! one. The board turns a [`Rule`] into its HTTP status and error code
//! (§10.7), the verifier into a failure of check `V3`–`V10` (§11), the
//! trustee tool and the voter client into evidence against the board.

use std::fmt;

/// One rule of SPEC.md. Every variant is checked by exactly one function of
/// [`crate::election`]; [`Rule::section`] names the section that states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    // ---- manifest and election (§10.7, §11.3) ----
    /// The election id does not match `[a-z0-9-]{1,64}`.
    InvalidElectionId,
    /// The manifest breaks a rule of §10.7 (title, contests, trustees, threshold, keys).
    InvalidManifest,
    /// Entry 0 is not a manifest, or the manifest is not signed by the board key.
    ManifestAuthor,
    /// A manifest after entry 0.
    SecondManifest,
    /// The body names another election than the log's.
    WrongElection,
    // ---- authorship (§10.2, §10.3) ----
    /// A board entry not signed by the board key.
    BoardOnly,
    /// A trustee index the manifest does not have.
    UnknownTrustee,
    /// A trustee post not signed by that trustee's manifest key.
    WrongAuthor,
    // ---- key ceremony (§8.5, §10.3) ----
    /// A `dkg_*` post or registration after the joint key (or a registration after the ceremony).
    CeremonyOver,
    /// A trustee registers twice.
    DuplicateRegistration,
    /// An encryption key that is the identity.
    IdentityEncryptionKey,
    /// `dkg_commit` before every trustee registered.
    CommitBeforeRegistrations,
    /// `dkg_commit` after `dkg_commits_closed`.
    CommitAfterClose,
    /// A trustee commits twice.
    DuplicateCommit,
    /// `dkg_commits_closed` whose preconditions do not hold (§10.3 rule 2).
    CommitsCloseNotAllowed,
    /// `dkg_commits_closed` with fewer than `t` commits.
    TooFewCommits,
    /// A reveal before every trustee committed (and commits are not closed).
    RevealBeforeCommits,
    /// A reveal by a trustee that did not commit.
    RevealWithoutCommit,
    /// A trustee reveals twice.
    DuplicateReveal,
    /// `SHA-256(body)` is not the committed hash.
    CommitmentMismatch,
    /// Wrong number of commitments, an identity commitment or a coefficient proof that fails.
    InvalidCoefficients,
    /// Not exactly one share per other trustee, or an identity ephemeral key.
    InvalidShares,
    /// A complaint about oneself, about a dealer without a share for the
    /// complainer, or by a trustee that is not registered.
    InvalidComplaint,
    /// A complaint about a dealer that has not revealed.
    ComplaintBeforeReveal,
    /// A second complaint for the same pair.
    DuplicateComplaint,
    /// The complaint's evidence (DLEQ proof of `K`) does not verify.
    InvalidComplaintProof,
    /// `joint_key` outside the key ceremony, or a second one.
    JointKeyNotAllowed,
    /// `joint_key` before every trustee registered.
    JointKeyEarly,
    /// Fewer than `t` qualified dealers.
    TooFewQualified,
    /// `qualified` is not the recomputed set in increasing order.
    QualifiedMismatch,
    /// `public_key` or a verification key is not the recomputed one.
    JointKeyMismatch,
    /// `key_ack` before the joint key or after voting opened.
    AckNotAllowed,
    /// A trustee acknowledges twice.
    DuplicateAck,
    /// The acknowledged key is not the joint key.
    AckKeyMismatch,
    // ---- credentials (§10.3 rule 7, §12.1) ----
    /// A credential list not signed by the manifest's credential authority.
    CredentialListAuthor,
    /// A second credential list.
    DuplicateCredentialList,
    /// A credential list after voting opened.
    CredentialListLate,
    /// Empty list, a repeated or invalid key, or a weight outside `[1, 2^20]`.
    InvalidCredentials,
    // ---- voting (§10.3 rule 8, §10.4, §10.6) ----
    /// `voting_opened` without joint key, `t` acknowledgements and the
    /// credential list, or a second one.
    OpenNotAllowed,
    /// `voting_closed` before voting opened, or a second one.
    CloseNotAllowed,
    /// A ballot outside the voting window.
    ElectionNotOpen,
    /// A ballot whose author is not on the credential list.
    NotEligible,
    /// A ballot whose shape does not fit the manifest.
    BallotMalformed,
    /// A ballot proof that does not verify.
    InvalidBallotProof,
    /// A ciphertext `R` used twice in one ballot or by an earlier ballot.
    CiphertextReused,
    /// A ballot of a credential that already has the manifest's
    /// `max_ballots_per_credential` valid ballots on the log.
    TooManyBallots,
    // ---- tally (§10.5, §11.8–§11.10) ----
    /// A partial decryption before voting closed or after the result.
    PartialNotAllowed,
    /// A trustee decrypts twice.
    DuplicatePartial,
    /// A partial decryption of a tally of fewer counted credentials than
    /// the manifest's `min_counted`.
    TooFewCounted,
    /// A partial decryption whose proofs do not verify (or of the wrong length).
    InvalidPartial,
    /// A result before `t` valid partial decryptions, or a second one.
    ResultNotAllowed,
    /// The result's tally is not the sum of the counted ballots.
    TallyMismatch,
    /// The result's trustees are not the first `t` valid partial decryptions in log order.
    ResultTrustees,
    /// Counts that do not have one number per option of every contest.
    ResultShape,
    /// A count above the bound of §8.4.
    CountOutOfBound,
    /// A count that the partial decryptions do not give.
    CountMismatch,
}

/// The verifier's checks, numbered as SPEC.md §11 numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Check {
    /// Hash chain and Merkle tree.
    V1,
    /// Signatures and body form.
    V2,
    /// Manifest.
    V3,
    /// Key ceremony.
    V4,
    /// Credential list.
    V5,
    /// Ballots and the voting window.
    V6,
    /// Counted set.
    V7,
    /// Tally aggregation.
    V8,
    /// Partial decryptions.
    V9,
    /// Combination and result.
    V10,
    /// Checkpoints and cosignatures.
    V11,
}

impl Rule {
    /// Every rule, for tables and documentation.
    pub const ALL: &'static [Rule] = &[
        Rule::InvalidElectionId,
        Rule::InvalidManifest,
        Rule::ManifestAuthor,
        Rule::SecondManifest,
        Rule::WrongElection,
        Rule::BoardOnly,
        Rule::UnknownTrustee,
        Rule::WrongAuthor,
        Rule::CeremonyOver,
        Rule::DuplicateRegistration,
        Rule::IdentityEncryptionKey,
        Rule::CommitBeforeRegistrations,
        Rule::CommitAfterClose,
        Rule::DuplicateCommit,
        Rule::CommitsCloseNotAllowed,
        Rule::TooFewCommits,
        Rule::RevealBeforeCommits,
        Rule::RevealWithoutCommit,
        Rule::DuplicateReveal,
        Rule::CommitmentMismatch,
        Rule::InvalidCoefficients,
        Rule::InvalidShares,
        Rule::InvalidComplaint,
        Rule::ComplaintBeforeReveal,
        Rule::DuplicateComplaint,
        Rule::InvalidComplaintProof,
        Rule::JointKeyNotAllowed,
        Rule::JointKeyEarly,
        Rule::TooFewQualified,
        Rule::QualifiedMismatch,
        Rule::JointKeyMismatch,
        Rule::AckNotAllowed,
        Rule::DuplicateAck,
        Rule::AckKeyMismatch,
        Rule::CredentialListAuthor,
        Rule::DuplicateCredentialList,
        Rule::CredentialListLate,
        Rule::InvalidCredentials,
        Rule::OpenNotAllowed,
        Rule::CloseNotAllowed,
        Rule::ElectionNotOpen,
        Rule::NotEligible,
        Rule::BallotMalformed,
        Rule::InvalidBallotProof,
        Rule::CiphertextReused,
        Rule::TooManyBallots,
        Rule::PartialNotAllowed,
        Rule::DuplicatePartial,
        Rule::TooFewCounted,
        Rule::InvalidPartial,
        Rule::ResultNotAllowed,
        Rule::TallyMismatch,
        Rule::ResultTrustees,
        Rule::ResultShape,
        Rule::CountOutOfBound,
        Rule::CountMismatch,
    ];

    /// The SPEC.md section that states the rule.
    pub fn section(self) -> &'static str {
        use Rule::*;
        match self {
            InvalidElectionId | InvalidManifest => "§10.7",
            ManifestAuthor | SecondManifest | WrongElection => "§11.3",
            BoardOnly => "§10.2",
            UnknownTrustee | WrongAuthor => "§10.3",
            DuplicateRegistration | IdentityEncryptionKey => "§10.3 rule 1",
            CommitBeforeRegistrations
            | CommitAfterClose
            | DuplicateCommit
            | CommitsCloseNotAllowed
            | TooFewCommits => "§10.3 rule 2",
            RevealBeforeCommits | RevealWithoutCommit | DuplicateReveal | CommitmentMismatch
            | InvalidCoefficients | InvalidShares => "§10.3 rule 3",
            InvalidComplaint
            | ComplaintBeforeReveal
            | DuplicateComplaint
            | InvalidComplaintProof => "§10.3 rule 4",
            CeremonyOver | JointKeyNotAllowed | JointKeyEarly | TooFewQualified
            | QualifiedMismatch | JointKeyMismatch => "§10.3 rule 5",
            AckNotAllowed | DuplicateAck | AckKeyMismatch => "§10.3 rule 6",
            CredentialListAuthor
            | DuplicateCredentialList
            | CredentialListLate
            | InvalidCredentials => "§10.3 rule 7",
            OpenNotAllowed => "§10.3 rule 8",
            CloseNotAllowed => "§10.6",
            ElectionNotOpen => "§10.4 rule 1",
            NotEligible => "§10.4 rule 4",
            BallotMalformed | InvalidBallotProof => "§10.4 rule 5",
            CiphertextReused => "§10.4 rule 6",
            TooManyBallots => "§10.4 rule 7",
            PartialNotAllowed | DuplicatePartial | TooFewCounted | InvalidPartial => "§10.5",
            ResultNotAllowed | TallyMismatch | ResultTrustees | ResultShape | CountOutOfBound
            | CountMismatch => "§10.5",
        }
    }

    /// The verifier check that reports it (SPEC.md §11).
    pub fn check(self) -> Check {
        use Rule::*;
        match self {
            InvalidElectionId | InvalidManifest | ManifestAuthor | SecondManifest
            | WrongElection => Check::V3,
            BoardOnly
            | UnknownTrustee
            | WrongAuthor
            | CeremonyOver
            | DuplicateRegistration
            | IdentityEncryptionKey
            | CommitBeforeRegistrations
            | CommitAfterClose
            | DuplicateCommit
            | CommitsCloseNotAllowed
            | TooFewCommits
            | RevealBeforeCommits
            | RevealWithoutCommit
            | DuplicateReveal
            | CommitmentMismatch
            | InvalidCoefficients
            | InvalidShares
            | InvalidComplaint
            | ComplaintBeforeReveal
            | DuplicateComplaint
            | InvalidComplaintProof
            | JointKeyNotAllowed
            | JointKeyEarly
            | TooFewQualified
            | QualifiedMismatch
            | JointKeyMismatch
            | AckNotAllowed
            | DuplicateAck
            | AckKeyMismatch => Check::V4,
            CredentialListAuthor
            | DuplicateCredentialList
            | CredentialListLate
            | InvalidCredentials => Check::V5,
            OpenNotAllowed | CloseNotAllowed | ElectionNotOpen | NotEligible | BallotMalformed
            | InvalidBallotProof | CiphertextReused | TooManyBallots => Check::V6,
            TallyMismatch => Check::V8,
            PartialNotAllowed | DuplicatePartial | TooFewCounted | InvalidPartial => Check::V9,
            ResultNotAllowed | ResultTrustees | ResultShape | CountOutOfBound | CountMismatch => {
                Check::V10
            }
        }
    }

    /// The board's HTTP status and error code for a post that breaks the
    /// rule (SPEC.md §10.7). Rules only the board's own entries can break
    /// map to `board_entry_mismatch`: a mirror or trustee that replays
    /// such an entry answers with it.
    pub fn http(self) -> (u16, &'static str) {
        use Rule::*;
        match self {
            InvalidElectionId => (400, "invalid_id"),
            InvalidManifest => (422, "invalid_manifest"),
            WrongElection => (400, "wrong_election"),
            ManifestAuthor | SecondManifest | BoardOnly => (403, "board_only"),
            UnknownTrustee => (422, "unknown_trustee"),
            WrongAuthor | CredentialListAuthor => (403, "wrong_author"),
            CeremonyOver
            | CommitBeforeRegistrations
            | CommitAfterClose
            | CommitsCloseNotAllowed
            | RevealBeforeCommits
            | RevealWithoutCommit
            | ComplaintBeforeReveal
            | AckNotAllowed
            | CredentialListLate
            | OpenNotAllowed
            | JointKeyNotAllowed
            | CloseNotAllowed
            | PartialNotAllowed => (409, "wrong_state"),
            DuplicateRegistration
            | DuplicateCommit
            | DuplicateReveal
            | DuplicateComplaint
            | DuplicateAck
            | DuplicateCredentialList
            | DuplicatePartial => (409, "duplicate"),
            TooFewCommits | JointKeyEarly | TooFewQualified => (409, "ceremony_incomplete"),
            IdentityEncryptionKey => (422, "invalid_key"),
            CommitmentMismatch => (422, "commitment_mismatch"),
            InvalidCoefficients | InvalidComplaintProof | InvalidBallotProof | InvalidPartial => {
                (422, "invalid_proof")
            }
            InvalidShares => (422, "invalid_shares"),
            InvalidComplaint => (422, "invalid_complaint"),
            AckKeyMismatch => (422, "key_mismatch"),
            InvalidCredentials => (422, "invalid_credentials"),
            ElectionNotOpen => (409, "election_not_open"),
            TooFewCounted => (409, "too_few_ballots"),
            NotEligible => (403, "not_eligible"),
            BallotMalformed => (422, "ballot_malformed"),
            CiphertextReused => (409, "ciphertext_reused"),
            TooManyBallots => (409, "too_many_ballots"),
            QualifiedMismatch | JointKeyMismatch | ResultNotAllowed | TallyMismatch
            | ResultTrustees | ResultShape | CountOutOfBound | CountMismatch => {
                (422, "board_entry_mismatch")
            }
        }
    }
}

impl Check {
    /// Every check, in order.
    pub const ALL: [Check; 11] = [
        Check::V1,
        Check::V2,
        Check::V3,
        Check::V4,
        Check::V5,
        Check::V6,
        Check::V7,
        Check::V8,
        Check::V9,
        Check::V10,
        Check::V11,
    ];

    /// The check's short name, as SPEC.md §11 titles it.
    pub fn name(self) -> &'static str {
        match self {
            Check::V1 => "chain & tree",
            Check::V2 => "signatures",
            Check::V3 => "manifest",
            Check::V4 => "key ceremony",
            Check::V5 => "credential list",
            Check::V6 => "ballots",
            Check::V7 => "counted set",
            Check::V8 => "tally aggregation",
            Check::V9 => "partial decryptions",
            Check::V10 => "combination & result",
            Check::V11 => "checkpoints & mirrors",
        }
    }

    /// The SPEC.md section of the check.
    pub fn section(self) -> &'static str {
        match self {
            Check::V1 => "§11.1",
            Check::V2 => "§11.2",
            Check::V3 => "§11.3",
            Check::V4 => "§11.4",
            Check::V5 => "§11.5",
            Check::V6 => "§11.6",
            Check::V7 => "§11.7",
            Check::V8 => "§11.8",
            Check::V9 => "§11.9",
            Check::V10 => "§11.10",
            Check::V11 => "§11.11",
        }
    }

    /// What the check counts, for a report line (SPEC.md §11).
    pub fn unit(self) -> &'static str {
        match self {
            Check::V1 => "entries",
            Check::V2 => "signatures",
            Check::V3 => "manifest entries",
            Check::V4 => "ceremony entries",
            Check::V5 => "credentials",
            Check::V6 => "ballots",
            Check::V7 => "counted ballots",
            Check::V8 => "tally ciphertexts",
            Check::V9 => "partial decryptions",
            Check::V10 => "counts",
            Check::V11 => "signed checkpoints",
        }
    }

    /// The check that reports a violation of `rule`.
    pub fn of(rule: Rule) -> Check {
        rule.check()
    }

    /// Position in [`Check::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// An entry that breaks a rule: which rule, and a sentence that says how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The rule broken.
    pub rule: Rule,
    /// What was wrong, for a person.
    pub message: String,
}

impl Violation {
    /// A violation of `rule`.
    pub fn new(rule: Rule, message: impl Into<String>) -> Self {
        Violation {
            rule,
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (SPEC.md {})", self.message, self.rule.section())
    }
}

impl std::error::Error for Violation {}

/// Shorthand: `Err(Violation::new(rule, message))`.
pub(crate) fn broken<T>(rule: Rule, message: impl Into<String>) -> Result<T, Violation> {
    Err(Violation::new(rule, message))
}
