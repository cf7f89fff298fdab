//! The streaming verifier: entries go in one line at a time, in log order;
//! a [`Report`] comes out (SPEC.md §11).
//!
//! Every line is hashed into the chain and the Merkle tree (V1) on the
//! caller's thread. Ballots are queued for parallel batch verification
//! (`ballots` module); every other entry first waits for the ballots
//! before it, so that lifecycle checks see the log in order, then is checked
//! here: signature (V2), then the rule of its type (V3–V10). The signed
//! checkpoint and mirrors (V11) are checked by [`Verifier::finish`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::scalar::Scalar as DalekScalar;
use ed25519_dalek::VerifyingKey;
use psephos_crypto::ballot::Contest;
use psephos_crypto::elgamal::Ciphertext;
use psephos_crypto::encoding::Point;
use psephos_crypto::log::merkle::{leaf_hash, MerkleTree};
use psephos_crypto::proofs::all_hold;
use psephos_crypto::record::{
    AuthorKey, Body, ChainFollower, CredentialEntry, Entry, Manifest, Payload,
};
use psephos_crypto::threshold::{combine, decryption_equations, DecryptionShare};
use rayon::prelude::*;
use serde::Deserialize;

use crate::anchors::{self, RecordFacts};
use crate::ballots::{BallotCtx, BallotPipeline, CountedSet, Listed, PendingBallot, Window};
use crate::ceremony::Ceremony;
use crate::report::{CheckId, Checks, ContestResult, Report, Stage, Status};
use crate::VerifyOptions;

use CheckId::{V1, V10, V2, V3, V4, V5, V6, V7, V8, V9};

/// The fields every body has, read without parsing the payload.
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "type")]
    kind: String,
}

/// What the manifest fixes.
#[derive(Debug)]
struct ManifestState {
    election: String,
    title: String,
    contests: Vec<Contest>,
    trustees: Vec<psephos_crypto::record::TrusteeInfo>,
    threshold: u32,
    credential_authority: AuthorKey,
    board: AuthorKey,
}

impl ManifestState {
    /// `(contest, option)` of every tally position, contests then options.
    fn positions(&self) -> Vec<(usize, usize)> {
        self.contests
            .iter()
            .enumerate()
            .flat_map(|(c, contest)| (0..contest.options.len()).map(move |o| (c, o)))
            .collect()
    }

    fn label(&self, (c, o): (usize, usize)) -> String {
        let contest = &self.contests[c];
        format!(
            "contest {:?} option {:?}",
            contest.id, contest.options[o].id
        )
    }

    fn trustee_is(&self, l: u32, author: &AuthorKey) -> Result<(), String> {
        let t = (l as usize)
            .checked_sub(1)
            .and_then(|i| self.trustees.get(i))
            .ok_or_else(|| format!("there is no trustee {l} in the manifest"))?;
        if t.key == *author {
            Ok(())
        } else {
            Err(format!(
                "signed by {}, not by trustee {l}'s key",
                author.to_hex()
            ))
        }
    }
}

/// The streaming verifier. Feed it every line with [`push_line`], then call
/// [`finish`].
///
/// [`push_line`]: Verifier::push_line
/// [`finish`]: Verifier::finish
pub struct Verifier {
    opts: VerifyOptions,
    started: Instant,
    checks: Checks,
    position: u64,
    chain: ChainFollower,
    tree: MerkleTree,
    manifest: Option<ManifestState>,
    manifest_author: Option<[u8; 32]>,
    missing_manifest_reported: bool,
    ceremony: Option<Ceremony>,
    credentials: Arc<HashMap<[u8; 32], Listed>>,
    credential_list_at: Option<u64>,
    opened_at: Option<u64>,
    closed_at: Option<u64>,
    tally: Option<Vec<Ciphertext>>,
    partials: BTreeMap<u32, Vec<Point>>,
    result_at: Option<u64>,
    verified_result: Option<Vec<ContestResult>>,
    counted: CountedSet,
    pipeline: BallotPipeline,
    stage: Stage,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("entries", &self.position)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for one election's record.
    pub fn new(opts: VerifyOptions) -> Self {
        let chunk = opts.chunk_size;
        Verifier {
            opts,
            started: Instant::now(),
            checks: Checks::default(),
            position: 0,
            chain: ChainFollower::new(),
            tree: MerkleTree::new(),
            manifest: None,
            manifest_author: None,
            missing_manifest_reported: false,
            ceremony: None,
            credentials: Arc::new(HashMap::new()),
            credential_list_at: None,
            opened_at: None,
            closed_at: None,
            tally: None,
            partials: BTreeMap::new(),
            result_at: None,
            verified_result: None,
            counted: CountedSet::new(0),
            pipeline: BallotPipeline::new(
                chunk,
                BallotCtx {
                    election: String::new(),
                    key: None,
                    contests: Vec::new(),
                    credentials: Arc::new(HashMap::new()),
                },
            ),
            stage: Stage::Empty,
        }
    }

    /// Entries read so far.
    pub fn entries(&self) -> u64 {
        self.position
    }

    /// The input broke off: what was read is verified, and V1 fails.
    pub fn input_failed(&mut self, why: &str) {
        self.checks.fail(
            V1,
            Some(self.position),
            format!("the record could not be read beyond this point: {why}"),
        );
    }

    /// Check one line of the record (without its newline). Never fails:
    /// whatever is wrong becomes a failure in the report.
    pub fn push_line(&mut self, line: &str) {
        let index = self.position;
        self.position += 1;
        self.checks.count(V1, 1);
        let entry = match Entry::from_line(line) {
            Ok(e) => e,
            Err(e) => {
                self.checks
                    .fail(V1, Some(index), format!("not an entry line: {e}"));
                self.resync(index, line);
                return;
            }
        };
        match self.chain.accept(line, &entry) {
            Ok(leaf) => {
                self.tree.push(leaf);
            }
            Err(e) => {
                let why = match e {
                    psephos_crypto::record::RecordError::Chain { why, .. } => why,
                    other => other.to_string(),
                };
                self.checks
                    .fail(V1, Some(index), format!("hash chain broken: {why}"));
                self.resync(index, line);
            }
        }
        let head: Head = match serde_json::from_str(entry.body.get()) {
            Ok(h) => h,
            Err(e) => {
                self.checks.count(V2, 1);
                self.checks
                    .fail(V2, Some(index), format!("malformed body: {e}"));
                return;
            }
        };
        if index > 0 && self.manifest.is_none() {
            self.checks.count(V2, 1);
            if !self.missing_manifest_reported {
                self.missing_manifest_reported = true;
                self.checks.fail(
                    V3,
                    Some(index),
                    "without a manifest at entry 0 no later entry can be checked",
                );
            }
            return;
        }
        if head.kind == "ballot" && index > 0 {
            let window = match (self.opened_at, self.closed_at) {
                (_, Some(_)) => Window::AfterClose,
                (Some(_), None) => Window::Open,
                (None, None) => Window::BeforeOpen,
            };
            let Entry {
                body, signature, ..
            } = entry;
            let ballot = PendingBallot {
                index,
                body: body.into(),
                signature,
                window,
            };
            self.pipeline
                .push(ballot, &mut self.counted, &mut self.checks);
            return;
        }
        self.pipeline.flush(&mut self.counted, &mut self.checks);
        self.checks.count(V2, 1);
        let body = match entry.open() {
            Ok(b) => b,
            Err(e) => {
                self.checks
                    .fail(V2, Some(index), format!("{}: {e}", head.kind));
                return;
            }
        };
        if index == 0 {
            self.manifest_entry(body);
            return;
        }
        let Some(m) = &self.manifest else {
            return;
        };
        if body.election != m.election {
            self.checks.fail(
                V3,
                Some(index),
                format!(
                    "{} names election {:?}, not {:?}",
                    head.kind, body.election, m.election
                ),
            );
            return;
        }
        self.entry(index, entry.body.get(), body);
    }

    /// After a broken link, go on from this line so that one bad entry is
    /// reported once, not at every later entry.
    fn resync(&mut self, index: u64, line: &str) {
        let leaf = leaf_hash(line.as_bytes());
        self.tree.push(leaf);
        self.chain = ChainFollower::resume(index + 1, leaf);
    }

    fn manifest_entry(&mut self, body: Body) {
        self.checks.count(V3, 1);
        self.manifest_author = Some(body.author.0);
        let Payload::Manifest(manifest) = body.payload else {
            self.checks.fail(
                V3,
                Some(0),
                format!(
                    "entry 0 is a {}, not the manifest",
                    body.payload.type_name()
                ),
            );
            self.missing_manifest_reported = true;
            return;
        };
        let fail = |checks: &mut Checks, m: String| checks.fail(V3, Some(0), m);
        if let Some(key) = &self.opts.board_key {
            if key.verifying_key().to_bytes() != body.author.0 {
                fail(
                    &mut self.checks,
                    format!(
                        "the manifest is signed by {}, not by the board key",
                        body.author.to_hex()
                    ),
                );
            }
        }
        if let Some(e) = &self.opts.election {
            if *e != body.election {
                fail(
                    &mut self.checks,
                    format!("the record is election {:?}, not {e:?}", body.election),
                );
            }
        }
        if body.election.is_empty() {
            fail(&mut self.checks, "the election id is empty".into());
        }
        for problem in manifest_problems(&manifest) {
            fail(&mut self.checks, problem);
        }
        let Some(manifest_hash) = self.tree.leaf(0).copied() else {
            return;
        };
        let state = ManifestState {
            election: body.election,
            title: manifest.title,
            contests: manifest.contests,
            trustees: manifest.trustees,
            threshold: manifest.threshold,
            credential_authority: manifest.credential_authority,
            board: body.author,
        };
        self.ceremony = Some(Ceremony::new(
            &state.trustees,
            state.threshold,
            manifest_hash,
        ));
        self.counted = CountedSet::new(state.positions().len());
        self.manifest = Some(state);
        self.stage = Stage::Ceremony;
        self.refresh_ballot_ctx();
    }

    fn refresh_ballot_ctx(&mut self) {
        let Some(m) = &self.manifest else { return };
        let key = self
            .ceremony
            .as_ref()
            .and_then(Ceremony::joint)
            .map(|j| (j.fingerprint, j.pk));
        self.pipeline.set_ctx(BallotCtx {
            election: m.election.clone(),
            key,
            contests: m.contests.clone(),
            credentials: Arc::clone(&self.credentials),
        });
    }

    fn board_authored(
        &mut self,
        check: CheckId,
        index: u64,
        kind: &str,
        author: &AuthorKey,
    ) -> bool {
        let Some(m) = &self.manifest else {
            return false;
        };
        if m.board == *author {
            true
        } else {
            self.checks.fail(
                check,
                Some(index),
                format!("{kind} is signed by {}, not by the board", author.to_hex()),
            );
            false
        }
    }

    fn entry(&mut self, index: u64, body_text: &str, body: Body) {
        let author = body.author;
        let (Some(ceremony), checks) = (self.ceremony.as_mut(), &mut self.checks) else {
            return;
        };
        match body.payload {
            Payload::Manifest(_) => {
                checks.count(V3, 1);
                checks.fail(V3, Some(index), "a second manifest");
            }
            Payload::TrusteeRegistration {
                trustee,
                encryption_key,
            } => ceremony.registration(checks, index, &author, trustee, encryption_key),
            Payload::DkgCommit { trustee, hash } => {
                ceremony.commit(checks, index, &author, trustee, hash)
            }
            Payload::DkgCommitsClosed {} => {
                if !self.board_authored(V4, index, "dkg_commits_closed", &author) {
                    self.checks.count(V4, 1);
                    return;
                }
                if let Some(c) = self.ceremony.as_mut() {
                    c.commits_closed(&mut self.checks, index);
                }
            }
            Payload::DkgCommitments {
                trustee,
                commitments,
                proofs,
                shares,
            } => ceremony.commitments(
                checks,
                index,
                &author,
                trustee,
                body_text,
                commitments,
                &proofs,
                shares,
            ),
            Payload::DkgComplaint {
                trustee,
                dealer,
                shared_key,
                proof,
            } => ceremony.complaint(checks, index, &author, trustee, dealer, shared_key, proof),
            Payload::KeyAck {
                trustee,
                public_key,
            } => ceremony.key_ack(checks, index, &author, trustee, public_key),
            Payload::JointKey {
                qualified,
                public_key,
                verification_keys,
            } => {
                if !self.board_authored(V4, index, "joint_key", &author) {
                    self.checks.count(V4, 1);
                    return;
                }
                if let Some(c) = self.ceremony.as_mut() {
                    c.joint_key(
                        &mut self.checks,
                        index,
                        &qualified,
                        public_key,
                        &verification_keys,
                    );
                }
                self.stage = self.stage.max(Stage::KeyReady);
                self.refresh_ballot_ctx();
            }
            Payload::CredentialList { credentials } => {
                self.credential_list(index, &author, &credentials)
            }
            Payload::VotingOpened { bundle_sha256 } => {
                self.voting_opened(index, &author, bundle_sha256)
            }
            Payload::Ballot(_) => {
                // Ballots are routed to the pipeline by their type; a body
                // that parses as a ballot always has that type.
                checks.fail(V6, Some(index), "ballot reached the wrong path");
            }
            Payload::VotingClosed {} => self.voting_closed(index, &author),
            Payload::PartialDecryption { trustee, shares } => {
                self.partial_decryption(index, &author, trustee, &shares)
            }
            Payload::Result {
                tally,
                trustees,
                counts,
            } => self.result(index, &author, &tally, &trustees, &counts),
        }
    }

    fn credential_list(&mut self, index: u64, author: &AuthorKey, credentials: &[CredentialEntry]) {
        let Some(m) = &self.manifest else { return };
        let checks = &mut self.checks;
        checks.count(V5, credentials.len() as u64);
        if *author != m.credential_authority {
            checks.fail(
                V5,
                Some(index),
                format!(
                    "credential list signed by {}, not by the manifest's credential authority",
                    author.to_hex()
                ),
            );
            return;
        }
        if let Some(first) = self.credential_list_at {
            checks.fail(
                V5,
                Some(index),
                format!("a second credential list (the first is entry {first})"),
            );
            return;
        }
        if self.opened_at.is_some() {
            checks.fail(
                V5,
                Some(index),
                "credential list posted after voting opened",
            );
        }
        // Decompressing a key costs microseconds: a million-voter list is
        // checked on every core.
        let keys: Vec<Option<VerifyingKey>> = credentials
            .par_iter()
            .map(|c| VerifyingKey::from_bytes(&c.key.0).ok())
            .collect();
        let mut seen = HashSet::with_capacity(credentials.len());
        let mut list = Vec::with_capacity(credentials.len());
        for (k, (c, key)) in credentials.iter().zip(keys).enumerate() {
            if !seen.insert(c.key) {
                checks.fail(
                    V5,
                    Some(index),
                    format!("credential #{k} ({}) is listed twice", c.key.to_hex()),
                );
                continue;
            }
            if c.weight == 0 {
                checks.fail(
                    V5,
                    Some(index),
                    format!("credential #{k} ({}) has weight 0", c.key.to_hex()),
                );
            }
            if key.is_none() {
                checks.fail(
                    V5,
                    Some(index),
                    format!(
                        "credential #{k} ({}) is not an Ed25519 public key",
                        c.key.to_hex()
                    ),
                );
            }
            list.push((c.key.0, c.weight, key));
        }
        let total: u128 = list.iter().map(|(_, w, _)| u128::from(*w)).sum();
        checks.note(
            V5,
            format!("{} credentials, total weight {total}", list.len()),
        );
        self.counted
            .set_credentials(list.iter().map(|(key, weight, _)| (*key, *weight)));
        self.credentials = Arc::new(
            list.into_iter()
                .map(|(k, weight, key)| (k, Listed { weight, key }))
                .collect(),
        );
        self.credential_list_at = Some(index);
        self.refresh_ballot_ctx();
    }

    fn voting_opened(&mut self, index: u64, author: &AuthorKey, bundle: [u8; 32]) {
        if !self.board_authored(V6, index, "voting_opened", author) {
            return;
        }
        let threshold = self.manifest.as_ref().map_or(0, |m| m.threshold);
        let checks = &mut self.checks;
        if let Some(first) = self.opened_at {
            checks.fail(
                V6,
                Some(index),
                format!("voting opened a second time (first at entry {first})"),
            );
            return;
        }
        let (joint, acks) = self
            .ceremony
            .as_ref()
            .map_or((false, 0), |c| (c.joint().is_some(), c.acks()));
        if !joint {
            checks.fail(
                V6,
                Some(index),
                "voting opened before the joint key was posted",
            );
        }
        if acks < threshold {
            checks.fail(
                V6,
                Some(index),
                format!("voting opened with {acks} key acknowledgements, fewer than the threshold {threshold}"),
            );
        }
        if self.credential_list_at.is_none() {
            checks.fail(
                V6,
                Some(index),
                "voting opened before the credential list was posted",
            );
        }
        checks.note(
            V6,
            format!(
                "voting opened at entry {index}; voting page bundle SHA-256 {}",
                hex::encode(bundle)
            ),
        );
        self.opened_at = Some(index);
        self.stage = self.stage.max(Stage::Open);
    }

    fn voting_closed(&mut self, index: u64, author: &AuthorKey) {
        if !self.board_authored(V6, index, "voting_closed", author) {
            return;
        }
        if let Some(first) = self.closed_at {
            self.checks.fail(
                V6,
                Some(index),
                format!("voting closed a second time (first at entry {first})"),
            );
            return;
        }
        if self.opened_at.is_none() {
            self.checks
                .fail(V6, Some(index), "voting closed before it opened");
        }
        self.checks
            .note(V6, format!("voting closed at entry {index}"));
        self.closed_at = Some(index);
        self.tally = Some(self.counted.tally());
        self.stage = self.stage.max(Stage::Closed);
    }

    fn partial_decryption(
        &mut self,
        index: u64,
        author: &AuthorKey,
        l: u32,
        shares: &[DecryptionShare],
    ) {
        self.checks.count(V9, 1);
        let r: Result<_, String> = (|| {
            let m = self.manifest.as_ref().ok_or("no manifest")?;
            m.trustee_is(l, author)?;
            let tally = self
                .tally
                .as_ref()
                .ok_or("partial decryption before voting closed")?;
            let joint = self
                .ceremony
                .as_ref()
                .and_then(Ceremony::joint)
                .ok_or("partial decryption without a joint key")?;
            let x_l = joint
                .verification_keys
                .get((l as usize).saturating_sub(1))
                .ok_or("no verification key for this trustee")?;
            let eqs = decryption_equations(&joint.fingerprint, l, x_l, tally, shares)
                .map_err(|e| e.to_string())?;
            if !all_hold(&eqs) {
                return Err(format!(
                    "trustee {l}'s decryption proofs do not verify against X_{l} and the tally"
                ));
            }
            Ok(())
        })();
        match r {
            Ok(()) => {
                self.partials
                    .entry(l)
                    .or_insert_with(|| shares.iter().map(|s| s.D).collect());
            }
            Err(e) => self
                .checks
                .fail(V9, Some(index), format!("partial_decryption: {e}")),
        }
    }

    fn result(
        &mut self,
        index: u64,
        author: &AuthorKey,
        posted_tally: &[Ciphertext],
        trustees: &[u32],
        counts: &[Vec<u64>],
    ) {
        if !self.board_authored(V10, index, "result", author) {
            return;
        }
        if let Some(first) = self.result_at {
            self.checks.fail(
                V10,
                Some(index),
                format!("a second result (the first is entry {first})"),
            );
            return;
        }
        self.result_at = Some(index);
        self.stage = self.stage.max(Stage::Tallied);
        let Some(tally) = self.tally.clone() else {
            self.checks
                .fail(V10, Some(index), "result posted before voting closed");
            return;
        };
        let Some(m) = &self.manifest else { return };
        let positions = m.positions();
        let checks = &mut self.checks;

        // V8: the published tally is the sum over the counted set.
        checks.count(V8, tally.len() as u64);
        if posted_tally.len() != tally.len() {
            checks.fail(
                V8,
                Some(index),
                format!(
                    "the result has {} tally ciphertexts, the manifest needs {}",
                    posted_tally.len(),
                    tally.len()
                ),
            );
        } else {
            for (k, (posted, ours)) in posted_tally.iter().zip(&tally).enumerate() {
                if posted != ours {
                    checks.fail(
                        V8,
                        Some(index),
                        format!(
                            "tally ciphertext of {} is not the weighted sum of the counted ballots",
                            m.label(positions[k])
                        ),
                    );
                }
            }
        }

        // V10: trustees, then every count against the combination.
        let mut ok = true;
        let mut fail = |m: String| {
            ok = false;
            checks.fail(V10, Some(index), m)
        };
        let mut sorted = trustees.to_vec();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            fail(format!("trustees {trustees:?} repeat an index"));
        }
        if (trustees.len() as u64) < u64::from(m.threshold) {
            fail(format!(
                "{} trustees combined, the threshold is {}",
                trustees.len(),
                m.threshold
            ));
        }
        let mut shares: Vec<&Vec<Point>> = Vec::new();
        for l in trustees {
            match self.partials.get(l) {
                Some(d) => shares.push(d),
                None => fail(format!(
                    "trustee {l} has no valid partial decryption in the log"
                )),
            }
        }
        let shape_ok = counts.len() == m.contests.len()
            && counts
                .iter()
                .zip(&m.contests)
                .all(|(c, contest)| c.len() == contest.options.len());
        if !shape_ok {
            fail("the counts do not have one number per option of every contest".into());
        }
        let counted_weight = self.counted.summary.counted_weight;
        if ok {
            let flat: Vec<u64> = counts.iter().flatten().copied().collect();
            checks.count(V10, flat.len() as u64);
            for (k, (&count, ct)) in flat.iter().zip(&tally).enumerate() {
                let (c, _) = positions[k];
                let bound = u128::from(counted_weight) * u128::from(m.contests[c].max_per_option);
                if u128::from(count) > bound {
                    checks.fail(
                        V10,
                        Some(index),
                        format!(
                            "{}: count {count} exceeds the bound {bound}",
                            m.label(positions[k])
                        ),
                    );
                    ok = false;
                    continue;
                }
                let pairs: Vec<(u32, Point)> = trustees
                    .iter()
                    .zip(&shares)
                    .filter_map(|(l, d)| d.get(k).map(|p| (*l, *p)))
                    .collect();
                let combined = combine(ct, &pairs).ok();
                let matches = combined
                    .is_some_and(|vg| vg == &DalekScalar::from(count) * RISTRETTO_BASEPOINT_TABLE);
                if !matches {
                    let actual = combined
                        .and_then(|vg| decrypted_value(&vg, bound))
                        .map_or_else(
                            || format!("no value in [0, {}]", bound.min(DIAGNOSTIC_DLOG_BOUND)),
                            |v| v.to_string(),
                        );
                    checks.fail(
                        V10,
                        Some(index),
                        format!(
                            "{}: published count {count}, but the partial decryptions give {actual}",
                            m.label(positions[k])
                        ),
                    );
                    ok = false;
                }
            }
        }
        if ok {
            self.verified_result = Some(
                m.contests
                    .iter()
                    .zip(counts)
                    .map(|(contest, c)| ContestResult {
                        contest: contest.id.clone(),
                        counts: contest
                            .options
                            .iter()
                            .zip(c)
                            .map(|(o, n)| (o.id.clone(), *n))
                            .collect(),
                    })
                    .collect(),
            );
        }
    }

    /// Verify what is still queued, run V11, and produce the report.
    pub fn finish(mut self) -> Report {
        self.pipeline.flush(&mut self.counted, &mut self.checks);
        if self.position == 0 {
            self.checks.fail(V1, None, "the record is empty");
        }
        let summary = self.counted.summary.clone();
        self.checks.count(V7, summary.counted_credentials);
        if self.opened_at.is_some() && self.closed_at.is_none() {
            self.checks
                .note(V7, "voting is still open: the counted set is not final");
        }
        if self.result_at.is_none() {
            if self.opts.require_result {
                self.checks.fail(
                    V10,
                    None,
                    "the record has no result (required by --require-result)",
                );
            } else {
                self.checks
                    .note(V10, "the record has no result yet: nothing to combine");
            }
        }
        let election = self.manifest.as_ref().map(|m| m.election.clone());
        let facts = RecordFacts {
            election: election.as_deref(),
            manifest_author: self.manifest_author,
            tree: &self.tree,
        };
        let mut warnings = anchors::check(&mut self.checks, &self.opts, &facts);
        if let Some(c) = &self.ceremony {
            let (founded, unfounded) = c.complaints();
            if founded + unfounded > 0 {
                self.checks.note(
                    V4,
                    format!("{founded} founded and {unfounded} unfounded complaints"),
                );
            }
        }
        let checks = self.checks.into_vec();
        let allow_skip = self.opts.allow_unsigned;
        let passed = checks.iter().all(|c| match c.status {
            Status::Pass => true,
            Status::Skipped => allow_skip,
            Status::Fail => false,
        });
        if allow_skip && checks.iter().any(|c| c.status == Status::Skipped) {
            warnings.push("checks were skipped and allowed by --allow-unsigned: nothing shows that this record is the one the board signed".into());
        }
        let elapsed = self.started.elapsed().as_secs_f64();
        Report {
            format: 1,
            source: self.opts.source.clone(),
            election,
            title: self.manifest.as_ref().map(|m| m.title.clone()),
            entries: self.position,
            root: hex::encode(self.tree.root()),
            stage: self.stage,
            passed,
            checks,
            ballots_per_second: if elapsed > 0.0 {
                summary.ballots as f64 / elapsed
            } else {
                0.0
            },
            counted: summary,
            result: self.verified_result,
            elapsed_seconds: elapsed,
            warnings,
        }
    }
}

/// The largest bound searched for a diagnostic (a 2^18-entry table).
const DIAGNOSTIC_DLOG_BOUND: u128 = 1 << 36;

/// The value `v ≤ bound` with `v·G = point`, for a failure message only
/// (the check itself compares `count·G`, SPEC.md §11.10).
fn decrypted_value(
    point: &curve25519_dalek::ristretto::RistrettoPoint,
    bound: u128,
) -> Option<u64> {
    let bound = u64::try_from(bound.min(DIAGNOSTIC_DLOG_BOUND)).ok()?;
    psephos_crypto::dlog::DlogTable::new(bound)
        .solve(point)
        .ok()
}

/// Everything wrong with a manifest (SPEC.md §11.3).
fn manifest_problems(m: &Manifest) -> Vec<String> {
    let mut out = Vec::new();
    if m.contests.is_empty() {
        out.push("the manifest has no contest".into());
    }
    let mut ids = HashSet::new();
    for c in &m.contests {
        if let Err(e) = c.validate() {
            out.push(e.to_string());
        }
        if !ids.insert(c.id.as_str()) {
            out.push(format!("contest id {:?} is used twice", c.id));
        }
    }
    let n = m.trustees.len();
    if n == 0 {
        out.push("the manifest has no trustee".into());
    }
    let mut keys = HashSet::new();
    for (k, t) in m.trustees.iter().enumerate() {
        if t.index as usize != k + 1 {
            out.push(format!(
                "trustee #{k} has index {}, expected {}",
                t.index,
                k + 1
            ));
        }
        if VerifyingKey::from_bytes(&t.key.0).is_err() {
            out.push(format!(
                "trustee {} key is not an Ed25519 public key",
                t.index
            ));
        }
        if !keys.insert(t.key) {
            out.push(format!(
                "trustee {} shares its key with another trustee",
                t.index
            ));
        }
    }
    if m.threshold == 0 || m.threshold as usize > n {
        out.push(format!(
            "threshold {} is not between 1 and {n}",
            m.threshold
        ));
    }
    if VerifyingKey::from_bytes(&m.credential_authority.0).is_err() {
        out.push("the credential authority key is not an Ed25519 public key".into());
    }
    out
}
