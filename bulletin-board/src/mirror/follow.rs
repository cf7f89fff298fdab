//! The follower (SPEC.md §10.9.2): one pass over the upstream's elections,
//! from its latest signed checkpoint back to the mirror's own copy.
//!
//! For each election, with `H = (n_h, r_h)` the last checkpoint the mirror
//! verified and stored, and `P = (n_p, r_p)` the upstream's latest:
//!
//! 1. `P` must be signed by the pinned board key, for origin
//!    `<board origin>/<election>`.
//! 2. `n_p ≤ n_h`: the mirror's own tree must have root `r_p` at `n_p`;
//!    otherwise the board equivocated ([`EvidenceKind::SameSize`], or
//!    [`EvidenceKind::PrefixMismatch`] with the mirror's consistency proof).
//! 3. `n_p > n_h`: the upstream's consistency proof from `H` to `P` must
//!    verify (SPEC.md §7.3). If it does not, the mirror downloads the
//!    upstream's whole log up to `n_p`, and if that log has root `r_p` its
//!    prefix at `n_h` is the conclusive evidence
//!    ([`EvidenceKind::PrefixMismatch`]); if not,
//!    [`EvidenceKind::UnprovenConsistency`].
//! 4. The entries `[size, n_p)` are fetched in chunks of at most [`CHUNK`]
//!    (a chunk also ends after `voting_closed`, whose tally the next entries
//!    need). Each chunk is first shown to belong to `P`: its leaves extend
//!    the mirror's tree to a root that the upstream's consistency proof
//!    links to `r_p` (or that is `r_p`). Entries that are not `P`'s are the
//!    upstream's transient fault, never an alarm. Then every entry passes
//!    the hash chain ([`ChainFollower`]) and the board's own rule engine
//!    ([`check_entry`]); one that fails is an [`InvalidEntry`] alarm. The
//!    chunk is committed, so memory stays bounded and a restart resumes
//!    from the store.
//! 5. `P` is cosigned (`cosignature/v1`), stored with the cosignature, and
//!    the cosigned note is posted upstream (retried on every pass until the
//!    upstream takes or refuses it).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use psephos_crypto::log::checkpoint::{
    add_cosignature, open_checkpoint, Checkpoint, Cosigner, NoteVerifier, SignatureLine,
};
use psephos_crypto::log::merkle::{empty_root, leaf_hash, verify_consistency, Hash, MerkleTree};
use psephos_crypto::record::{AuthorKey, Body, ChainFollower, Entry};
use psephos_voter::bundle::{bundle_sha256, file_sha256, parse_sums};
use psephos_voter::web::WebAssets;
use serde::Deserialize;

use super::evidence::{Evidence, EvidenceKind, InvalidEntry, PrefixProof};
use super::store::{self as mstore, AlarmRow};
use super::upstream::{Delivery, Upstream};
use super::{AlarmKind, PassReport};
use crate::api::valid_id;
use crate::board::replay_from;
use crate::bundle::{plain_name, MAX_BUNDLE_BYTES, MAX_FILES, MAX_FILE_BYTES, SUMS};
use crate::election::{Election, Trust};
use crate::error::{BoardError, Result};
use crate::store::{NewEntry, Store};
use crate::verifier::record_error;
use psephos_crypto::election::Effect;

/// Most entries fetched, checked and committed together.
pub const CHUNK: u64 = 1_000;

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn unavailable(what: impl std::fmt::Display) -> BoardError {
    BoardError::Unavailable(what.to_string())
}

fn internal(what: impl std::fmt::Display) -> BoardError {
    BoardError::Internal(what.to_string())
}

/// The board a mirror follows: its pinned key.
#[derive(Debug, Clone)]
pub(crate) struct BoardIdentity {
    /// Verifies its checkpoints (key name = its origin).
    pub verifier: NoteVerifier,
    /// Its entries' author key (the same Ed25519 key).
    pub author: AuthorKey,
}

impl BoardIdentity {
    pub fn new(verifier: NoteVerifier) -> Self {
        let author = AuthorKey(verifier.verifying_key().to_bytes());
        BoardIdentity { verifier, author }
    }

    pub fn vkey(&self) -> String {
        self.verifier.to_vkey()
    }

    /// `<board origin>/<election>` (SPEC.md §10.1).
    pub fn origin_of(&self, election: &str) -> String {
        format!("{}/{election}", self.verifier.name())
    }
}

/// Check one entry of the board's log with the protocol's rules (SPEC.md
/// §10.2–§10.6) and record it in `el`: the path a mirror (or anyone
/// replaying a log it does not trust) takes. It is the board's own check
/// of a new post, [`Election::apply`] with [`Trust::Nothing`]: authors'
/// posts with every proof, and the board's own entries
/// (`dkg_commits_closed`, `joint_key`, `voting_opened`, `voting_closed`,
/// `result`) signed by the board key and equal to what the rules give for
/// the log before them. The body's signature must have been checked
/// (`Entry::open`).
///
/// # Errors
///
/// [`BoardError::Rejected`] with the board's code when a rule refuses the
/// entry (`el` unchanged).
pub fn check_entry(el: &mut Election, body: &Body, body_text: &str) -> Result<Effect> {
    el.apply(body, body_text, Trust::Nothing)
}

/// The board's note without other keys' lines: `body`, empty line, the
/// board's signature lines.
fn board_note(note: &str, others: &[SignatureLine]) -> String {
    let Some(split) = note.rfind("\n\n") else {
        return note.to_owned();
    };
    let others: Vec<String> = others.iter().map(SignatureLine::to_line).collect();
    let mut out = note[..split + 2].to_owned();
    for line in note[split + 2..].split_inclusive('\n') {
        if !others.iter().any(|o| o == line) {
            out.push_str(line);
        }
    }
    out
}

/// Whether an entry line is a `voting_closed` (a chunk ends after it).
fn is_voting_closed(line: &str) -> bool {
    #[derive(Deserialize)]
    struct Kind<'a> {
        #[serde(borrow, rename = "type")]
        kind: std::borrow::Cow<'a, str>,
    }
    Entry::from_line(line)
        .ok()
        .and_then(|e| {
            serde_json::from_str::<Kind<'_>>(e.body.get())
                .ok()
                .map(|k| k.kind == "voting_closed")
        })
        .unwrap_or(false)
}

/// A checkpoint the mirror verified and stored.
#[derive(Debug, Clone)]
struct Held {
    note: String,
    cp: Checkpoint,
}

/// The mirror's state of one election.
#[derive(Debug, Default)]
struct Followed {
    /// The verified log's state (`None` before entry 0).
    el: Option<Election>,
    /// The latest stored checkpoint.
    held: Option<Held>,
    /// A cosigned note the upstream has not taken yet.
    undelivered: Option<String>,
    /// The upstream refused a cosignature (logged once).
    refused: bool,
}

/// What a step found wrong with the board.
#[derive(Debug)]
enum Found {
    Equivocation(Box<Evidence>),
    Invalid(Box<InvalidEntry>),
}

#[derive(Debug, Default)]
struct StepReport {
    appended: u64,
    cosigned: bool,
    found: Option<Found>,
}

/// How a chunk's membership in the signed tree was shown: the prefix it
/// ends and the consistency proof from there to the checkpoint.
struct Membership {
    prefix_size: u64,
    prefix_root: Hash,
    proof: Vec<Hash>,
}

/// An entry the rules refused: its index and line, and the note of the
/// checkpoint being followed.
struct Offence<'a> {
    note: &'a str,
    index: u64,
    line: &'a str,
}

/// The follower's state: the stores, the keys and each election's copy.
#[derive(Debug)]
pub(crate) struct Follower {
    pub upstream: Upstream,
    pub store: Store,
    pub board: BoardIdentity,
    pub cosigner: Cosigner,
    pub alarm: Option<AlarmKind>,
    elections: HashMap<String, Followed>,
    /// The page bundles held (SPEC.md §10.9.2 step 6).
    bundles: HashSet<Hash>,
    /// Bundles the upstream failed to serve (warned once).
    missing_bundles: HashSet<Hash>,
}

impl Follower {
    /// Resume from the mirror's store.
    pub async fn load(
        upstream: Upstream,
        store: Store,
        board: BoardIdentity,
        cosigner: Cosigner,
    ) -> Result<Self> {
        let mut alarm = None;
        for row in mstore::alarms(&store).await? {
            tracing::error!(
                election = %row.election,
                kind = %row.kind,
                "ALARM raised earlier against the upstream board: not following or cosigning; evidence at /api/v1/elections/{}/equivocation",
                row.election
            );
            alarm = alarm.or(Some(AlarmKind::from_name(&row.kind)));
        }
        let mut elections = HashMap::new();
        for row in store.list_elections().await? {
            let el = replay_from(&store, &row.id).await?;
            let mut f = Followed {
                el: Some(el),
                ..Followed::default()
            };
            if let Some(stored) = mstore::latest_checkpoint(&store, &row.id).await? {
                let (cp, _) = open_checkpoint(&stored.note, &board.verifier)
                    .map_err(|e| internal(format!("{}: stored checkpoint: {e}", row.id)))?;
                if !stored.cosignatures.is_empty() {
                    f.undelivered = Some(format!("{}{}", stored.note, stored.cosignatures));
                }
                f.held = Some(Held {
                    note: stored.note,
                    cp,
                });
            }
            elections.insert(row.id, f);
        }
        let mut bundles = HashSet::new();
        for hash in mstore::bundles(&store).await? {
            let hash =
                psephos_crypto::encoding::decode_hex32("stored bundle", &hash).map_err(internal)?;
            bundles.insert(hash);
        }
        Ok(Follower {
            upstream,
            store,
            board,
            cosigner,
            alarm,
            elections,
            bundles,
            missing_bundles: HashSet::new(),
        })
    }

    /// One pass over every election the upstream lists (SPEC.md §10.9.2).
    /// Stops at the first alarm.
    pub async fn pass(&mut self) -> Result<PassReport> {
        let mut report = PassReport::default();
        if self.alarm.is_none() {
            // Evidence posted to the mirror's API (SPEC.md §10.9.4) is an
            // alarm too: no cosignature after it.
            if let Some(row) = mstore::alarms(&self.store).await?.first() {
                self.alarm = Some(AlarmKind::from_name(&row.kind));
            }
        }
        if let Some(kind) = self.alarm {
            report.alarm = Some(kind);
            return Ok(report);
        }
        let ids = self.upstream.elections().await?;
        let mut failure = None;
        for id in &ids {
            if !valid_id(id) {
                tracing::warn!(election = %id, "the upstream lists an invalid election id; skipped");
                continue;
            }
            let mut f = self.elections.remove(id).unwrap_or_default();
            let step = self.step(id, &mut f).await;
            let bundle = f.el.as_ref().and_then(|el| el.rules.bundle());
            self.elections.insert(id.clone(), f);
            match step {
                Ok(s) => {
                    report.appended += s.appended;
                    report.cosigned += u64::from(s.cosigned);
                    if let Some(found) = s.found {
                        report.alarm = Some(self.raise(found).await);
                        return Ok(report);
                    }
                    if let Some(hash) = bundle {
                        self.keep_bundle(id, hash).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(election = %id, error = %e, "following failed; will retry");
                    failure.get_or_insert(e);
                }
            }
        }
        for id in self.elections.keys() {
            if !ids.contains(id) {
                tracing::warn!(election = %id, "the upstream no longer lists an election this mirror holds");
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Step 6 (SPEC.md §10.9.2): fetch the page bundle the log names, check
    /// it against that hash, and store it, once. A bundle the upstream does
    /// not serve (or serves with other bytes) is logged and tried again on
    /// the next pass; it never holds up the log.
    async fn keep_bundle(&mut self, id: &str, hash: Hash) {
        if self.bundles.contains(&hash) {
            return;
        }
        let fetched = match self.fetch_bundle(&hash).await {
            Ok(bundle) => mstore::insert_bundle(&self.store, &bundle).await,
            Err(e) => Err(e),
        };
        match fetched {
            Ok(()) => {
                tracing::info!(election = %id, bundle = %hex::encode(hash), "page bundle fetched, checked and stored");
                self.bundles.insert(hash);
                self.missing_bundles.remove(&hash);
            }
            Err(e) if self.missing_bundles.insert(hash) => tracing::warn!(
                election = %id,
                bundle = %hex::encode(hash),
                error = %e,
                "cannot keep the page bundle the log names; retrying on every pass"
            ),
            Err(e) => tracing::debug!(election = %id, error = %e, "page bundle still missing"),
        }
    }

    /// The bundle `hash` from the upstream: its `SHA256SUMS` must give
    /// `hash` (SPEC.md §13.6) and every file its listed SHA-256.
    async fn fetch_bundle(&self, hash: &Hash) -> Result<WebAssets> {
        let sums = self.upstream.bundle_file(hash, SUMS, 1 << 20).await?;
        let sums = String::from_utf8(sums).map_err(|_| unavailable("SHA256SUMS is not UTF-8"))?;
        let listed = parse_sums(&sums).map_err(unavailable)?;
        if listed.is_empty() || listed.len() > MAX_FILES {
            return Err(unavailable(format!(
                "SHA256SUMS lists {} files",
                listed.len()
            )));
        }
        if bundle_sha256(&listed) != *hash {
            return Err(unavailable(
                "the upstream's SHA256SUMS does not give the bundle hash its log names",
            ));
        }
        let mut files = BTreeMap::new();
        let mut total = 0usize;
        for (name, digest) in &listed {
            if !plain_name(name) || name == SUMS {
                return Err(unavailable(format!("{name:?} is not a bundle file name")));
            }
            let body = self
                .upstream
                .bundle_file(hash, name, MAX_FILE_BYTES)
                .await?;
            total = total.saturating_add(body.len());
            if total > MAX_BUNDLE_BYTES {
                return Err(unavailable("the bundle is larger than a mirror keeps"));
            }
            if file_sha256(&body) != digest.to_ascii_lowercase() {
                return Err(unavailable(format!(
                    "the upstream's {name} is not the file SHA256SUMS lists"
                )));
            }
            if files.insert(name.clone(), body).is_some() {
                return Err(unavailable(format!("SHA256SUMS lists {name} twice")));
            }
        }
        let bundle = WebAssets::from_files(files).map_err(unavailable)?;
        if bundle.bundle_sha256() != *hash {
            return Err(unavailable("the files do not give the bundle hash"));
        }
        Ok(bundle)
    }

    /// Record an alarm: log it loudly, keep its evidence, stop cosigning.
    async fn raise(&mut self, found: Found) -> AlarmKind {
        let (kind, election, evidence, message) = match &found {
            Found::Equivocation(ev) => (
                AlarmKind::Equivocation,
                ev.election.clone(),
                serde_json::to_string(ev),
                ev.message.clone(),
            ),
            Found::Invalid(ie) => (
                AlarmKind::InvalidEntry,
                ie.election.clone(),
                serde_json::to_string(ie),
                format!("entry {}: {}: {}", ie.index, ie.code, ie.message),
            ),
        };
        tracing::error!(
            election = %election,
            kind = kind.as_str(),
            %message,
            "ALARM: the upstream board misbehaved; the mirror stops following and cosigning and keeps the evidence"
        );
        self.alarm = Some(kind);
        let evidence = match evidence {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "the evidence could not be serialised");
                return kind;
            }
        };
        let row = AlarmRow {
            election,
            detected: now(),
            kind: kind.as_str().to_owned(),
            evidence,
        };
        if let Err(e) = mstore::record_alarm(&self.store, &row).await {
            tracing::error!(error = %e, evidence = %row.evidence, "the evidence could not be stored; it is in this log line");
        }
        kind
    }

    async fn step(&self, id: &str, f: &mut Followed) -> Result<StepReport> {
        let text = self.upstream.checkpoint(id).await?;
        let (cp, others) = open_checkpoint(&text, &self.board.verifier).map_err(|e| {
            unavailable(format!(
                "{id}: the upstream's checkpoint does not verify under the board key: {e}"
            ))
        })?;
        if cp.origin != self.board.origin_of(id) {
            return Err(unavailable(format!(
                "{id}: the upstream's checkpoint names origin {:?}, not {:?}",
                cp.origin,
                self.board.origin_of(id)
            )));
        }
        let note = board_note(&text, &others);
        let mut report = StepReport::default();
        let (n_h, r_h) = f
            .held
            .as_ref()
            .map_or((0, empty_root()), |h| (h.cp.size, h.cp.root));
        if cp.size <= n_h {
            report.found = self.check_not_newer(id, f, &cp, &note)?;
        } else {
            if let Some(held) = f.held.clone() {
                let proof = self.upstream.consistency(id, n_h, cp.size).await?;
                if verify_consistency(n_h, cp.size, &r_h, &cp.root, &proof).is_err() {
                    return match self.investigate(id, &held, &cp, &note, &proof).await? {
                        Some(ev) => {
                            report.found = Some(Found::Equivocation(Box::new(ev)));
                            Ok(report)
                        }
                        None => Err(unavailable(format!(
                            "{id}: the upstream's consistency proof from {n_h} to {} fails, but its entries are consistent",
                            cp.size
                        ))),
                    };
                }
            }
            let (appended, found) = self.follow_entries(id, f, &cp, &note).await?;
            report.appended = appended;
            if found.is_some() {
                report.found = found;
                return Ok(report);
            }
            self.seal(id, f, &cp, note).await?;
            report.cosigned = true;
        }
        self.deliver(id, f).await;
        Ok(report)
    }

    /// A checkpoint no larger than the held one must be a prefix of the
    /// mirror's tree (SPEC.md §7.3).
    fn check_not_newer(
        &self,
        id: &str,
        f: &Followed,
        cp: &Checkpoint,
        note: &str,
    ) -> Result<Option<Found>> {
        let (Some(held), Some(el)) = (&f.held, &f.el) else {
            return Ok(None);
        };
        let ours = el.tree.root_at(cp.size).map_err(internal)?;
        if ours == cp.root {
            return Ok(None);
        }
        let (kind, proof, message) = if cp.size == held.cp.size {
            (
                EvidenceKind::SameSize,
                None,
                format!(
                    "the board signed two checkpoints of size {} with different roots",
                    cp.size
                ),
            )
        } else {
            let hashes = el
                .tree
                .consistency_proof(cp.size, held.cp.size)
                .map_err(internal)?;
            (
                EvidenceKind::PrefixMismatch,
                Some(PrefixProof::new(cp.size, &ours, held.cp.size, &hashes)),
                format!(
                    "the board's checkpoint of size {} is not a prefix of its checkpoint of size {}",
                    cp.size, held.cp.size
                ),
            )
        };
        Ok(Some(Found::Equivocation(Box::new(Evidence {
            election: id.to_owned(),
            board_key: self.board.vkey(),
            kind,
            detected: now(),
            held: held.note.clone(),
            presented: note.to_owned(),
            proof,
            message,
        }))))
    }

    /// The upstream's consistency proof from the held checkpoint failed:
    /// rebuild the upstream's tree from its entries to find out whether it
    /// equivocated, and get conclusive evidence if so. `None`: its log is
    /// consistent after all (only the proof was wrong).
    async fn investigate(
        &self,
        id: &str,
        held: &Held,
        cp: &Checkpoint,
        note: &str,
        served: &[Hash],
    ) -> Result<Option<Evidence>> {
        tracing::warn!(
            election = %id,
            from = held.cp.size,
            to = cp.size,
            "the upstream's consistency proof fails; rebuilding its tree from its entries"
        );
        let mut tree = MerkleTree::new();
        let mut rebuilt = Ok(());
        while tree.len() < cp.size {
            let start = tree.len();
            match self
                .upstream
                .entries(id, start, cp.size.min(start + CHUNK))
                .await
            {
                Ok(lines) => {
                    for line in lines {
                        tree.push(leaf_hash(line.as_bytes()));
                    }
                }
                Err(e) => {
                    rebuilt = Err(e);
                    break;
                }
            }
        }
        let mut evidence = Evidence {
            election: id.to_owned(),
            board_key: self.board.vkey(),
            kind: EvidenceKind::UnprovenConsistency,
            detected: now(),
            held: held.note.clone(),
            presented: note.to_owned(),
            proof: Some(PrefixProof::new(held.cp.size, &held.cp.root, cp.size, served)),
            message: format!(
                "the board's consistency proof from its checkpoint of size {} to the one of size {} fails, and its entries do not rebuild the latter",
                held.cp.size, cp.size
            ),
        };
        if rebuilt.is_ok() && tree.len() == cp.size && tree.root() == cp.root {
            let old_root = tree.root_at(held.cp.size).map_err(internal)?;
            if old_root == held.cp.root {
                return Ok(None);
            }
            let hashes = tree
                .consistency_proof(held.cp.size, cp.size)
                .map_err(internal)?;
            evidence.kind = EvidenceKind::PrefixMismatch;
            evidence.proof = Some(PrefixProof::new(held.cp.size, &old_root, cp.size, &hashes));
            evidence.message = format!(
                "the board's checkpoint of size {} is not a prefix of its checkpoint of size {}",
                held.cp.size, cp.size
            );
        }
        Ok(Some(evidence))
    }

    /// Show that the leaves `[.., prefix_size)` now at the end of `tree`
    /// belong to the signed tree `cp`.
    async fn membership(&self, id: &str, tree: &MerkleTree, cp: &Checkpoint) -> Result<Membership> {
        let prefix_size = tree.len();
        let prefix_root = tree.root();
        let proof = if prefix_size == cp.size {
            Vec::new()
        } else {
            self.upstream.consistency(id, prefix_size, cp.size).await?
        };
        verify_consistency(prefix_size, cp.size, &prefix_root, &cp.root, &proof).map_err(|e| {
            unavailable(format!(
                "{id}: the entries up to {prefix_size} the upstream served are not in its checkpoint of size {} ({e})",
                cp.size
            ))
        })?;
        Ok(Membership {
            prefix_size,
            prefix_root,
            proof,
        })
    }

    /// Reload an election's state from the store, after a failure left the
    /// in-memory copy ahead of it.
    async fn reload(&self, id: &str, f: &mut Followed) -> Result<()> {
        f.el = match replay_from(&self.store, id).await {
            Ok(el) => Some(el),
            Err(BoardError::Rejected { .. }) => None,
            Err(e) => {
                f.el = None;
                return Err(e);
            }
        };
        Ok(())
    }

    /// Fetch, prove, check and store the entries up to `cp.size`.
    async fn follow_entries(
        &self,
        id: &str,
        f: &mut Followed,
        cp: &Checkpoint,
        note: &str,
    ) -> Result<(u64, Option<Found>)> {
        let mut appended = 0;
        loop {
            let start = f.el.as_ref().map_or(0, |el| el.size);
            if start >= cp.size {
                return Ok((appended, None));
            }
            let outcome = if start == 0 {
                self.follow_manifest(id, f, cp, note).await
            } else {
                self.follow_chunk(id, f, cp, note, start).await
            };
            match outcome {
                Ok(Ok(n)) => appended += n,
                Ok(Err(found)) => {
                    self.reload(id, f).await?;
                    return Ok((appended, Some(found)));
                }
                Err(e) => {
                    self.reload(id, f).await?;
                    return Err(e);
                }
            }
        }
    }

    /// The evidence of an entry the rules refused, in a chunk `tree` shown
    /// to be in the checkpoint `offence.note` by `membership`.
    fn invalid_entry(
        &self,
        id: &str,
        offence: Offence<'_>,
        tree: &MerkleTree,
        membership: &Membership,
        rejection: BoardError,
    ) -> Result<Found> {
        let Offence { note, index, line } = offence;
        let (code, message) = match &rejection {
            BoardError::Rejected { code, message, .. } => (*code, message.clone()),
            other => ("invalid", other.to_string()),
        };
        let path = tree
            .inclusion_proof(index, membership.prefix_size)
            .map_err(internal)?;
        Ok(Found::Invalid(Box::new(InvalidEntry {
            election: id.to_owned(),
            board_key: self.board.vkey(),
            detected: now(),
            checkpoint: note.to_owned(),
            index,
            line: line.to_owned(),
            prefix_size: membership.prefix_size,
            prefix_root: hex::encode(membership.prefix_root),
            inclusion_proof: path.iter().map(hex::encode).collect(),
            consistency_proof: membership.proof.iter().map(hex::encode).collect(),
            code: code.to_owned(),
            message,
        })))
    }

    /// Entry 0: the manifest, written by the board (SPEC.md §10.2).
    async fn follow_manifest(
        &self,
        id: &str,
        f: &mut Followed,
        cp: &Checkpoint,
        note: &str,
    ) -> Result<std::result::Result<u64, Found>> {
        let lines = self.upstream.entries(id, 0, 1).await?;
        let line = lines
            .first()
            .ok_or_else(|| unavailable(format!("{id}: the upstream served no entry 0")))?;
        let leaf = leaf_hash(line.as_bytes());
        let mut tree = MerkleTree::new();
        tree.push(leaf);
        let membership = self.membership(id, &tree, cp).await?;
        let checked = (|| -> Result<(Election, Entry, Body)> {
            let entry = Entry::from_line(line).map_err(record_error)?;
            ChainFollower::new()
                .accept(line, &entry)
                .map_err(record_error)?;
            let body = entry.open().map_err(record_error)?;
            let el = Election::begin(id, &body, leaf, &self.board.author)?;
            Ok((el, entry, body))
        })();
        let (el, entry, body) = match checked {
            Ok(x) => x,
            Err(e @ BoardError::Rejected { .. }) => {
                let offence = Offence {
                    note,
                    index: 0,
                    line,
                };
                return Ok(Err(self.invalid_entry(
                    id,
                    offence,
                    &tree,
                    &membership,
                    e,
                )?));
            }
            Err(e) => return Err(e),
        };
        let row = NewEntry {
            index: 0,
            leaf_hash: hex::encode(leaf),
            kind: body.payload.type_name(),
            author: body.author.to_hex(),
            line: line.clone(),
        };
        let mut tx = self.store.begin().await?;
        if !Store::insert_election(&mut tx, id, &el.manifest().title, entry.time).await? {
            return Err(internal(format!(
                "{id}: the store has the election but not its entry 0"
            )));
        }
        mstore::write_entries(&mut tx, id, &[row], &[], el.phase().as_str()).await?;
        tx.commit().await?;
        f.el = Some(el);
        Ok(Ok(1))
    }

    /// Entries `[start, ..)`: one chunk.
    async fn follow_chunk(
        &self,
        id: &str,
        f: &mut Followed,
        cp: &Checkpoint,
        note: &str,
        start: u64,
    ) -> Result<std::result::Result<u64, Found>> {
        let end = cp.size.min(start + CHUNK);
        let mut lines = self.upstream.entries(id, start, end).await?;
        if let Some(close) = lines.iter().position(|l| is_voting_closed(l)) {
            lines.truncate(close + 1);
        }
        let el =
            f.el.as_mut()
                .ok_or_else(|| internal(format!("{id}: no state after entry 0")))?;
        let leaves: Vec<Hash> = lines.iter().map(|l| leaf_hash(l.as_bytes())).collect();
        for leaf in &leaves {
            el.tree.push(*leaf);
        }
        let membership = self.membership(id, &el.tree, cp).await?;
        let mut chain = ChainFollower::resume(el.size, el.head);
        let mut rows = Vec::with_capacity(lines.len());
        let mut points = Vec::new();
        for (line, leaf) in lines.iter().zip(&leaves) {
            let index = el.size;
            let checked = (|| -> Result<(Body, Effect)> {
                let entry = Entry::from_line(line).map_err(record_error)?;
                chain.accept(line, &entry).map_err(record_error)?;
                let body = entry.open().map_err(record_error)?;
                let applied = check_entry(el, &body, entry.body.get())?;
                Ok((body, applied))
            })();
            let (body, applied) = match checked {
                Ok(x) => x,
                Err(e @ BoardError::Rejected { .. }) => {
                    let offence = Offence { note, index, line };
                    return Ok(Err(self.invalid_entry(
                        id,
                        offence,
                        &el.tree,
                        &membership,
                        e,
                    )?));
                }
                Err(e) => return Err(e),
            };
            el.size += 1;
            el.head = *leaf;
            points.extend(applied.r_points.iter().map(|p| (hex::encode(p), index)));
            rows.push(NewEntry {
                index,
                leaf_hash: hex::encode(leaf),
                kind: body.payload.type_name(),
                author: body.author.to_hex(),
                line: line.clone(),
            });
        }
        let mut tx = self.store.begin().await?;
        mstore::write_entries(&mut tx, id, &rows, &points, el.phase().as_str()).await?;
        tx.commit().await?;
        Ok(Ok(rows.len() as u64))
    }

    /// Cosign and store a checkpoint whose entries are all stored.
    async fn seal(&self, id: &str, f: &mut Followed, cp: &Checkpoint, note: String) -> Result<()> {
        let el =
            f.el.as_ref()
                .ok_or_else(|| internal(format!("{id}: nothing to seal")))?;
        if el.tree.root_at(cp.size).map_err(internal)? != cp.root {
            return Err(unavailable(format!(
                "{id}: the stored copy does not have the root of the upstream's checkpoint of size {}",
                cp.size
            )));
        }
        let cosigned = add_cosignature(&note, &self.board.verifier, &self.cosigner, now())
            .map_err(internal)?;
        let line = cosigned
            .strip_prefix(note.as_str())
            .ok_or_else(|| internal("a cosignature that does not extend the note"))?;
        mstore::insert_checkpoint(&self.store, id, cp.size, &note, line).await?;
        tracing::info!(election = %id, size = cp.size, "checkpoint verified and cosigned");
        f.held = Some(Held {
            note,
            cp: cp.clone(),
        });
        f.undelivered = Some(cosigned);
        Ok(())
    }

    /// Post the latest cosigned note upstream, if it has not taken it yet.
    async fn deliver(&self, id: &str, f: &mut Followed) {
        let Some(note) = &f.undelivered else {
            return;
        };
        match self.upstream.post_cosignature(id, note).await {
            Ok(Delivery::Accepted) => f.undelivered = None,
            Ok(Delivery::Refused(status, message)) => {
                if !f.refused {
                    tracing::warn!(
                        election = %id,
                        status,
                        %message,
                        vkey = %self.cosigner.verifier().to_vkey(),
                        "the upstream refused this mirror's cosignature (is the mirror registered with `psephos-board add-mirror`?); retrying on every pass"
                    );
                    f.refused = true;
                }
            }
            Err(e) => {
                tracing::debug!(election = %id, error = %e, "cosignature not delivered; will retry")
            }
        }
    }
}
