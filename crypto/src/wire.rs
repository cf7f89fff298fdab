//! The board API's JSON documents (SPEC.md §10.1, §10.2, §10.7), declared
//! once: the board and its mirrors serialize these types, and every client
//! (trustee tool, voter client and page, verifier, tests) deserializes the
//! same ones. Hashes, keys and points are lowercase hex strings as §2.3
//! says; a client parses them with the crypto core's decoders.

use serde::{Deserialize, Serialize};

use crate::election::{Election, Phase};
use crate::elgamal::Ciphertext;
use crate::record::{Manifest, TrusteeInfo};
use crate::Point;

/// `GET /api/v1/board`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardInfo {
    /// The board's origin (its checkpoint key name).
    pub origin: String,
    /// The board's checkpoint key as a C2SP vkey.
    pub key: String,
    /// The same Ed25519 key, hex: the author of the board's own entries.
    pub public_key: String,
    /// On a mirror: the mirror itself (SPEC.md §10.9.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<MirrorIdentity>,
}

/// A mirror's identity and health, in its `GET /api/v1/board`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorIdentity {
    /// The mirror's name (its cosignature key name).
    pub name: String,
    /// Its cosigning key as a C2SP vkey.
    pub key: String,
    /// The board it follows.
    pub upstream: String,
    /// It stopped following and cosigning after an alarm.
    pub halted: bool,
    /// What it found wrong, oldest first.
    pub alarms: Vec<serde_json::Value>,
}

/// One row of `GET /api/v1/elections`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElectionSummary {
    /// The election id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its state (SPEC.md §10.6).
    pub state: String,
    /// Entries in its log.
    pub size: u64,
}

/// A complaint as the status document names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplaintRef {
    /// Complaining trustee `l`.
    pub trustee: u32,
    /// Accused dealer `i`.
    pub dealer: u32,
}

/// `GET /api/v1/elections/{id}`: the board's summary of the log. It is
/// for people and dashboards; every role decides from the log itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElectionStatus {
    /// The election id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// `setup`, `key_ceremony`, `ready`, `open`, `closed` or `tallied`.
    pub state: String,
    /// Entries in the log.
    pub size: u64,
    /// Leaf hash of the manifest entry, hex.
    pub manifest_hash: String,
    /// The manifest.
    pub manifest: Manifest,
    /// The joint key `PK`, hex, once the ceremony is over.
    pub public_key: Option<String>,
    /// The election fingerprint, hex, once `PK` exists.
    pub fingerprint: Option<String>,
    /// `X_1..X_n`, hex, once `PK` exists.
    pub verification_keys: Option<Vec<String>>,
    /// The qualified dealers, once `PK` exists.
    pub qualified: Option<Vec<u32>>,
    /// The manifest's trustees.
    pub trustees: Vec<TrusteeInfo>,
    /// `t`.
    pub threshold: u32,
    /// Trustees registered.
    pub registered: Vec<u32>,
    /// Trustees that committed in round 1.
    pub committed: Vec<u32>,
    /// Round-1 commits were closed by the administrator.
    pub commits_closed: bool,
    /// Trustees with a valid reveal.
    pub revealed: Vec<u32>,
    /// Complaints with valid evidence.
    pub complaints: Vec<ComplaintRef>,
    /// Trustees that acknowledged `PK`.
    pub acks: Vec<u32>,
    /// Number of listed credentials, once the list is posted.
    pub credentials: Option<u64>,
    /// The voting page bundle's SHA-256, once voting opened.
    pub bundle_sha256: Option<String>,
    /// Ballot entries.
    pub ballots: u64,
    /// Credentials with a counted ballot.
    pub counted: u64,
    /// The encrypted tally, from `closed` on.
    pub tally: Option<Vec<Ciphertext>>,
    /// Trustees with a valid partial decryption.
    pub decrypted: Vec<u32>,
    /// The counts per contest per option, once tallied.
    pub result: Option<Vec<Vec<u64>>>,
    /// What the election waits for next.
    pub waiting_for: String,
    /// The latest signed checkpoint.
    pub checkpoint: String,
}

impl ElectionStatus {
    /// The status document (SPEC.md §10.1) of `election`, the state after
    /// a log of `size` entries whose latest signed checkpoint is
    /// `checkpoint`. The board and every stand-in for it fill the document
    /// this one way.
    pub fn of(election: &Election, size: u64, checkpoint: String) -> Self {
        let r = election;
        let c = r.ceremony();
        let joint = r.joint();
        ElectionStatus {
            id: r.id().to_owned(),
            title: r.manifest().title.clone(),
            state: r.phase().as_str().to_owned(),
            size,
            manifest_hash: hex::encode(r.manifest_hash()),
            manifest: r.manifest().as_ref().clone(),
            public_key: joint.map(|j| j.pk.as_point().to_hex()),
            fingerprint: joint.map(|j| hex::encode(j.fingerprint.as_bytes())),
            verification_keys: joint
                .map(|j| j.verification_keys.iter().map(Point::to_hex).collect()),
            qualified: joint.map(|j| j.qualified.clone()),
            trustees: r.manifest().trustees.clone(),
            threshold: r.t(),
            registered: c.registrations.keys().copied().collect(),
            committed: c.commits.keys().copied().collect(),
            commits_closed: c.commits_closed.is_some(),
            revealed: c.revealed.keys().copied().collect(),
            complaints: c
                .complaints
                .iter()
                .map(|x| ComplaintRef {
                    trustee: x.trustee,
                    dealer: x.dealer,
                })
                .collect(),
            acks: c.acks.iter().copied().collect(),
            credentials: r.credentials().map(|c| c.len() as u64),
            bundle_sha256: r.bundle().map(hex::encode),
            ballots: r.votes().ballots(),
            counted: r.votes().counted_credentials(),
            tally: r.tally().map(|t| t.as_ref().clone()),
            decrypted: r.partials().iter().map(|(l, _)| *l).collect(),
            result: r.result().cloned(),
            waiting_for: waiting_for(r),
            checkpoint,
        }
    }
}

/// The status document's `waiting_for` (SPEC.md §10.1): a sentence saying
/// what `election` waits for next.
pub fn waiting_for(election: &Election) -> String {
    let r = election;
    let c = r.ceremony();
    let n = r.n() as usize;
    let missing =
        |have: Vec<u32>| -> Vec<u32> { (1..=r.n()).filter(|l| !have.contains(l)).collect() };
    let joint = c.joint.is_some();
    match r.phase() {
        Phase::Setup => format!("trustee registrations (0 of {n})"),
        Phase::KeyCeremony if c.registrations.len() < n => format!(
            "trustee registrations from {:?}",
            missing(c.registrations.keys().copied().collect())
        ),
        Phase::KeyCeremony if !joint && c.commits_closed.is_none() && c.commits.len() < n => {
            format!(
                "dkg_commit from {:?} (or the administrator's close-commits to go on without them)",
                missing(c.commits.keys().copied().collect())
            )
        }
        Phase::KeyCeremony if !joint && c.revealed.len() < c.commits.len() => format!(
            "dkg_commitments from {:?} (or finalize-keys to disqualify them)",
            c.commits
                .keys()
                .filter(|i| !c.revealed.contains_key(i))
                .collect::<Vec<_>>()
        ),
        Phase::KeyCeremony if !joint => "complaints, then the administrator's finalize-keys".into(),
        Phase::KeyCeremony => format!(
            "key_ack from {} more trustee(s)",
            (r.t() as usize).saturating_sub(c.acks.len())
        ),
        Phase::Ready if r.credentials().is_none() => {
            "the credential list, then the administrator's open".into()
        }
        Phase::Ready => "the administrator's open".into(),
        Phase::Open => "ballots, then the administrator's close".into(),
        Phase::Closed => format!(
            "partial decryptions ({} of {} valid)",
            r.partials().len(),
            r.t()
        ),
        Phase::Tallied => "nothing: the result is published".into(),
    }
}

/// What a post's author gets back (SPEC.md §10.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The entry's index.
    pub index: u64,
    /// The entry line's leaf hash, hex.
    pub leaf_hash: String,
    /// The tracking code, hex (SPEC.md §6.6).
    pub tracking_code: String,
    /// Its short form.
    pub short_code: String,
    /// A signed checkpoint whose tree contains the entry.
    pub checkpoint: String,
    /// The inclusion proof of the entry in that checkpoint's tree, hex.
    pub inclusion_proof: Vec<String>,
    /// That checkpoint's tree size.
    pub size: u64,
}

/// `POST /api/v1/elections`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateElection {
    /// The election id (`[a-z0-9-]{1,64}`).
    pub id: String,
    /// Its manifest.
    pub manifest: Manifest,
}

/// `POST /api/v1/elections/{id}/open` (SPEC.md §10.1): the voting page
/// bundle `voting_opened` names. Without one (`{}`, or an empty body) the
/// board names the bundle it serves.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenVoting {
    /// The bundle's SHA-256, hex (SPEC.md §13.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_sha256: Option<String>,
}

/// `201` answer to `POST /api/v1/elections`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// The election id.
    pub election: String,
    /// The manifest's index: 0.
    pub index: u64,
    /// The manifest entry's receipt.
    pub receipt: Receipt,
}

/// `GET …/proof/inclusion`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Leaf index.
    pub index: u64,
    /// Tree size.
    pub size: u64,
    /// The leaf hash, hex.
    pub leaf_hash: String,
    /// The audit path, hex.
    pub proof: Vec<String>,
}

/// `GET …/proof/consistency`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// Old tree size.
    pub from: u64,
    /// New tree size.
    pub to: u64,
    /// The proof, hex.
    pub proof: Vec<String>,
}

/// A registered mirror, in `GET /api/v1/mirrors`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorEntry {
    /// Its name.
    pub name: String,
    /// Its cosigning key as a C2SP vkey.
    pub key: String,
    /// Where it serves.
    pub url: String,
}

/// `200` answer to `POST …/cosignatures`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CosignResult {
    /// The checkpoint's tree size.
    pub size: u64,
    /// Cosignature lines added.
    pub added: u64,
    /// Cosignature lines the checkpoint now carries.
    pub cosignatures: u64,
}

/// Every error answer (SPEC.md §10.1, §10.7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A machine-readable code.
    pub error: String,
    /// A sentence for people.
    pub message: String,
}
