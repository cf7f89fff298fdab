//! A generator of valid election records, made in process from the crypto
//! primitives alone (no board): the records the verifier's tests, benchmark
//! and demo check.
//!
//! [`generate`] plays every role of DESIGN.md §2 with keys drawn from a
//! seeded ChaCha20 stream: the board posts the manifest; `n` trustees
//! register, commit, reveal Feldman commitments with Schnorr proofs and
//! encrypted shares (optionally one dealer sends a bad share and its victim
//! complains with DLEQ evidence); the board posts the joint key; trustees
//! acknowledge it; the credential authority posts the list; voters cast
//! ballots (some more than once) encrypted in parallel; voting closes; the
//! decrypting trustees post partial decryptions; the board posts the result
//! and signs a checkpoint over the whole log. Lines go to a [`Sink`] as they
//! are made, so a 100,000-ballot record streams to a file.
//!
//! [`TestRecord`] keeps a small record in memory with every secret, so that
//! tests can tamper with it: re-sign a body with its author's key, insert a
//! post, and rebuild the hash chain and the signed checkpoint.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::scalar::Scalar as DalekScalar;
use ed25519_dalek::SigningKey;
use psephos_crypto::ballot::{encrypt_ballot, BallotContext, Contest, ContestOption};
use psephos_crypto::dlog::DlogTable;
use psephos_crypto::election::manifest::MAX_BALLOTS_PER_CREDENTIAL;
use psephos_crypto::elgamal::{Ciphertext, CiphertextSum, PublicKey, SecretKey};
use psephos_crypto::encoding::{Point, Scalar};
use psephos_crypto::log::merkle::{leaf_hash, Hash, MerkleTree};
use psephos_crypto::log::{sign_checkpoint, Checkpoint, NoteSigner};
use psephos_crypto::record::{
    AuthorKey, Body, CredentialEntry, EncryptedShare, Entry, Manifest, Payload, Post, TrusteeInfo,
    DEFAULT_MAX_BALLOTS_PER_CREDENTIAL, GENESIS_PREV,
};
use psephos_crypto::share_encryption::{encrypt_share, make_complaint};
use psephos_crypto::threshold::{combine, joint_key, verification_key, KeyShare, Polynomial};
use psephos_crypto::Fingerprint;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::VerifierError;
use crate::report::Report;
use crate::{verify_lines, VerifyOptions};

/// Board time of entry 0 (2026-01-01T00:00:00Z); each entry is a second later.
pub const START_TIME: u64 = 1_767_225_600;
/// Ballots encrypted per parallel batch.
const BALLOT_BATCH: usize = 2048;

fn gen_err(e: impl std::fmt::Display) -> VerifierError {
    VerifierError::Generate(e.to_string())
}

/// What election to make.
#[derive(Debug, Clone)]
pub struct ElectionSpec {
    /// Election id.
    pub election: String,
    /// The board's origin (key name of its checkpoints).
    pub origin: String,
    /// Manifest title.
    pub title: String,
    /// The contests.
    pub contests: Vec<Contest>,
    /// `n`.
    pub trustees: u32,
    /// `t`.
    pub threshold: u32,
    /// Credentials that vote.
    pub voters: usize,
    /// Listed credentials that never vote.
    pub abstainers: usize,
    /// Ballots cast in all; ballot `i` is voter `i mod voters`'s, so
    /// `ballots − voters` of them are revotes.
    pub ballots: usize,
    /// Give credentials weights 1, 2, 3, 1, 2, 3, … instead of 1.
    pub weighted: bool,
    /// `(dealer, victim)`: the dealer sends the victim a bad share, the
    /// victim complains, the dealer is disqualified.
    pub bad_dealer: Option<(u32, u32)>,
    /// A trustee that registers but never commits in round 1: the board
    /// closes commits (`dkg_commits_closed`) and the others go on without
    /// it as a dealer (SPEC.md §8.5.2); it still decrypts if asked to.
    pub absent_dealer: Option<u32>,
    /// Trustees that post partial decryptions (empty: `1..=t`).
    pub decrypting: Vec<u32>,
    /// Seed of every key and every ballot.
    pub seed: [u8; 32],
    /// The manifest's `min_counted` (SPEC.md §10.5; `None`: the default 10).
    pub min_counted: Option<u64>,
    /// The manifest's witnesses and their quorum (SPEC.md §14.1).
    pub witnesses: Vec<psephos_crypto::witness::Witness>,
    /// `k`.
    pub witness_quorum: u32,
}

/// A contest `id` with `options` options, `[min, max]` selections and
/// `per` at most per option.
pub fn contest(id: &str, options: usize, min: u64, max: u64, per: u64) -> Contest {
    Contest {
        id: id.to_string(),
        title: format!("Contest {id}"),
        options: (0..options)
            .map(|i| ContestOption {
                id: format!("{id}-{i}"),
                label: format!("Option {i}"),
            })
            .collect(),
        min_selections: min,
        max_selections: max,
        max_per_option: per,
    }
}

impl ElectionSpec {
    /// The benchmark's election: one contest, 5 options, vote for 1;
    /// 3 trustees, threshold 2; 5% of the ballots are revotes.
    pub fn plurality(ballots: usize) -> Self {
        ElectionSpec {
            election: "bench-2026".into(),
            origin: "board.psephos.test".into(),
            title: "Benchmark election".into(),
            contests: vec![contest("mayor", 5, 1, 1, 1)],
            trustees: 3,
            threshold: 2,
            voters: (ballots - ballots / 20).max(1),
            abstainers: 3,
            ballots,
            weighted: false,
            bad_dealer: None,
            absent_dealer: None,
            decrypting: Vec::new(),
            seed: [7; 32],
            // Tests cut this election down to a handful of ballots.
            min_counted: Some(1),
            witnesses: Vec::new(),
            witness_quorum: 0,
        }
    }
}

/// Where generated lines go.
pub trait Sink {
    /// Take the next line (without a line break).
    fn put(&mut self, line: String) -> Result<(), VerifierError>;
}

impl Sink for Vec<String> {
    fn put(&mut self, line: String) -> Result<(), VerifierError> {
        self.push(line);
        Ok(())
    }
}

/// A JSON Lines file being written.
#[derive(Debug)]
pub struct FileSink {
    path: String,
    out: BufWriter<File>,
}

impl FileSink {
    /// Create (truncate) `path`.
    pub fn create(path: &Path) -> Result<Self, VerifierError> {
        let file = File::create(path).map_err(|source| VerifierError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(FileSink {
            path: path.display().to_string(),
            out: BufWriter::with_capacity(1 << 20, file),
        })
    }

    /// Flush to disk.
    pub fn finish(mut self) -> Result<(), VerifierError> {
        self.out.flush().map_err(|source| VerifierError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

impl Sink for FileSink {
    fn put(&mut self, line: String) -> Result<(), VerifierError> {
        self.out
            .write_all(line.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(|source| VerifierError::Io {
                path: self.path.clone(),
                source,
            })
    }
}

/// One ballot as planned, enough to make it again (tests re-encrypt it for
/// another credential).
#[derive(Debug, Clone)]
pub struct BallotPlan {
    /// Its log index.
    pub entry: u64,
    /// Which voter (index into [`Generated::voters`]).
    pub voter: usize,
    /// The values, per contest per option.
    pub choices: Vec<Vec<u64>>,
    /// The seed of its encryption randomness and proofs.
    pub rng_seed: [u8; 32],
}

/// Everything a generated record was made with.
#[derive(Debug, Clone)]
pub struct Generated {
    /// What was asked for.
    pub spec: ElectionSpec,
    /// The board's key (manifest, lifecycle, result, checkpoints).
    pub board: SigningKey,
    /// The trustees' signing keys, `l = 1..n`.
    pub trustee_keys: Vec<SigningKey>,
    /// The trustees' share-encryption keys `y_l`, `l = 1..n`.
    pub encryption_keys: Vec<SecretKey>,
    /// The credential authority's key.
    pub credential_authority: SigningKey,
    /// Every listed credential: voters first, then abstainers.
    pub voters: Vec<SigningKey>,
    /// Every ballot, when asked to keep them.
    pub ballots: Vec<BallotPlan>,
    /// The election fingerprint.
    pub fingerprint: Fingerprint,
    /// The joint key.
    pub public_key: PublicKey,
    /// Entries written.
    pub entries: u64,
    /// The Merkle root over them.
    pub root: Hash,
    /// The board's signed checkpoint over the whole record.
    pub checkpoint: String,
    /// The result: counts per contest per option.
    pub counts: Vec<Vec<u64>>,
}

impl Generated {
    /// The board's checkpoint signer.
    pub fn note_signer(&self) -> Result<NoteSigner, VerifierError> {
        NoteSigner::new(&self.spec.origin, self.board.clone()).map_err(gen_err)
    }

    /// The board key as C2SP vkey text.
    pub fn board_vkey(&self) -> Result<String, VerifierError> {
        Ok(self.note_signer()?.verifier().to_vkey())
    }

    /// The checkpoint origin, `<origin>/<election>`.
    pub fn checkpoint_origin(&self) -> String {
        format!("{}/{}", self.spec.origin, self.spec.election)
    }

    /// Sign a checkpoint of `size` entries with root `root`.
    pub fn sign_checkpoint(&self, size: u64, root: Hash) -> Result<String, VerifierError> {
        let cp = Checkpoint {
            origin: self.checkpoint_origin(),
            size,
            root,
        };
        sign_checkpoint(&cp, &self.note_signer()?).map_err(gen_err)
    }

    /// A ballot of `choices` by `voter`, encrypted with randomness from
    /// `rng_seed`, signed: the same seed and choices give the same
    /// ciphertexts for any credential, with proofs bound to this one.
    pub fn ballot_post(
        &self,
        voter: &SigningKey,
        choices: &[Vec<u64>],
        rng_seed: [u8; 32],
    ) -> Result<Post, VerifierError> {
        let credential = voter.verifying_key().to_bytes();
        let ctx = BallotContext {
            fingerprint: &self.fingerprint,
            pk: &self.public_key,
            credential: &credential,
        };
        let mut rng = ChaCha20Rng::from_seed(rng_seed);
        let (ballot, _) =
            encrypt_ballot(&ctx, &self.spec.contests, choices, &mut rng).map_err(gen_err)?;
        let body = Body {
            election: self.spec.election.clone(),
            author: AuthorKey::of(voter),
            payload: Payload::Ballot(ballot),
        };
        Post::sign(&body, voter).map_err(gen_err)
    }
}

/// Appends posts as entries: index, chain, time, tree.
struct Appender<'a, S: Sink> {
    sink: &'a mut S,
    election: String,
    index: u64,
    prev: Hash,
    tree: MerkleTree,
}

impl<S: Sink> Appender<'_, S> {
    fn append(&mut self, post: Post) -> Result<u64, VerifierError> {
        let index = self.index;
        let entry = Entry {
            index,
            prev: self.prev,
            time: START_TIME + index,
            body: post.body,
            signature: post.signature,
        };
        let line = entry.to_line().map_err(gen_err)?;
        let leaf = leaf_hash(line.as_bytes());
        self.tree.push(leaf);
        self.prev = leaf;
        self.index += 1;
        self.sink.put(line)?;
        Ok(index)
    }

    fn post(&mut self, key: &SigningKey, payload: Payload) -> Result<u64, VerifierError> {
        let body = Body {
            election: self.election.clone(),
            author: AuthorKey::of(key),
            payload,
        };
        self.append(Post::sign(&body, key).map_err(gen_err)?)
    }
}

fn derive_seed(seed: &[u8; 32], label: &[u8], n: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"psephos/testgen/v1");
    h.update(seed);
    h.update(label);
    h.update(n.to_le_bytes());
    h.finalize().into()
}

/// Random valid values for a contest.
pub fn random_choice<R: RngCore>(c: &Contest, rng: &mut R) -> Vec<u64> {
    let n = c.options.len().max(1);
    let span = c.max_selections.saturating_sub(c.min_selections) + 1;
    let mut left = c.min_selections + rng.next_u64() % span;
    let mut values = vec![0u64; c.options.len()];
    while left > 0 && !values.is_empty() {
        let o = (rng.next_u64() % n as u64) as usize;
        if values[o] < c.max_per_option {
            values[o] += 1;
            left -= 1;
        }
    }
    values
}

/// Make a whole valid record into `sink`. With `keep_ballots`, every
/// ballot's plan is kept in [`Generated::ballots`].
pub fn generate<S: Sink>(
    spec: &ElectionSpec,
    sink: &mut S,
    keep_ballots: bool,
) -> Result<Generated, VerifierError> {
    let n = spec.trustees;
    let t = spec.threshold;
    if n == 0 || t == 0 || t > n || spec.voters == 0 {
        return Err(gen_err("need 1 ≤ t ≤ n and at least one voter"));
    }
    let per_voter = spec.ballots.div_ceil(spec.voters) as u64;
    if per_voter > MAX_BALLOTS_PER_CREDENTIAL {
        return Err(gen_err(
            "more ballots per voter than a manifest may allow (SPEC.md §10.7)",
        ));
    }
    let mut rng = ChaCha20Rng::from_seed(spec.seed);
    let board = SigningKey::generate(&mut rng);
    let trustee_keys: Vec<SigningKey> = (0..n).map(|_| SigningKey::generate(&mut rng)).collect();
    let encryption_keys: Vec<SecretKey> = (0..n).map(|_| SecretKey::random(&mut rng)).collect();
    let credential_authority = SigningKey::generate(&mut rng);
    let voters: Vec<SigningKey> = (0..spec.voters + spec.abstainers)
        .map(|_| SigningKey::generate(&mut rng))
        .collect();
    let weight = |v: usize| if spec.weighted { 1 + (v % 3) as u64 } else { 1 };

    let mut log = Appender {
        sink,
        election: spec.election.clone(),
        index: 0,
        prev: GENESIS_PREV,
        tree: MerkleTree::new(),
    };

    // The manifest; its leaf hash fixes every fingerprint.
    let manifest = Manifest {
        title: spec.title.clone(),
        contests: spec.contests.clone(),
        trustees: trustee_keys
            .iter()
            .zip(1u32..)
            .map(|(k, l)| TrusteeInfo {
                index: l,
                name: format!("Trustee {l}"),
                key: AuthorKey::of(k),
            })
            .collect(),
        threshold: t,
        credential_authority: AuthorKey::of(&credential_authority),
        witnesses: spec.witnesses.clone(),
        witness_quorum: spec.witness_quorum,
        min_counted: spec.min_counted,
        // Ballot `i` is voter `i mod voters`'s: name a cap only when the
        // default (SPEC.md §10.4 rule 7) is too small for the revotes.
        max_ballots_per_credential: (per_voter > DEFAULT_MAX_BALLOTS_PER_CREDENTIAL)
            .then_some(per_voter),
    };
    log.post(&board, Payload::Manifest(manifest))?;
    let manifest_hash = *log
        .tree
        .leaf(0)
        .ok_or_else(|| gen_err("no manifest leaf"))?;
    let ceremony_fp = Fingerprint::ceremony(&manifest_hash);

    // Registration.
    for (l, (key, y)) in (1u32..).zip(trustee_keys.iter().zip(&encryption_keys)) {
        log.post(
            key,
            Payload::TrusteeRegistration {
                trustee: l,
                encryption_key: *y.public_key().as_point(),
            },
        )?;
    }

    // Round 1: every dealer prepares its reveal, commits to its hash, and
    // reveals once all have committed.
    let mut polys = Vec::new();
    let mut reveals = Vec::new();
    for (i, key) in (1u32..).zip(&trustee_keys) {
        let poly = Polynomial::random(t, &mut rng).map_err(gen_err)?;
        let mut shares = Vec::new();
        for (l, y) in (1u32..).zip(&encryption_keys) {
            if l == i {
                continue;
            }
            let mut share = poly.evaluate(l);
            if spec.bad_dealer == Some((i, l)) {
                share = Scalar::from_dalek(share.inner() + DalekScalar::ONE);
            }
            let (ephemeral, ciphertext) = encrypt_share(
                &ceremony_fp,
                i,
                l,
                &y.public_key().to_non_identity(),
                &share,
                &mut rng,
            )
            .map_err(gen_err)?;
            shares.push(EncryptedShare {
                to: l,
                ephemeral,
                ciphertext,
            });
        }
        let body = Body {
            election: spec.election.clone(),
            author: AuthorKey::of(key),
            payload: Payload::DkgCommitments {
                trustee: i,
                commitments: poly.commitments(),
                proofs: poly.prove_coefficients(&ceremony_fp, i, &mut rng),
                shares,
            },
        };
        let post = Post::sign(&body, key).map_err(gen_err)?;
        polys.push(poly);
        reveals.push((body, post));
    }
    for (i, (key, (_, post))) in (1u32..).zip(trustee_keys.iter().zip(&reveals)) {
        if spec.absent_dealer == Some(i) {
            continue;
        }
        let hash: [u8; 32] = Sha256::digest(post.body_text().as_bytes()).into();
        log.post(key, Payload::DkgCommit { trustee: i, hash })?;
    }
    if spec.absent_dealer.is_some() {
        log.post(&board, Payload::DkgCommitsClosed {})?;
    }
    let mut bodies = Vec::new();
    for ((body, post), i) in reveals.into_iter().zip(1u32..) {
        if spec.absent_dealer != Some(i) {
            log.append(post)?;
        }
        bodies.push(body);
    }

    // Round 2: the victim of a bad dealer complains.
    let mut qualified: Vec<u32> = (1..=n).filter(|&i| spec.absent_dealer != Some(i)).collect();
    if let Some((dealer, victim)) = spec.bad_dealer {
        let d = bodies
            .get((dealer as usize).wrapping_sub(1))
            .ok_or_else(|| gen_err("no such dealer"))?;
        let Payload::DkgCommitments { shares, .. } = &d.payload else {
            return Err(gen_err("reveal is not a dkg_commitments"));
        };
        let share = shares
            .iter()
            .find(|s| s.to == victim)
            .ok_or_else(|| gen_err("no share for the victim"))?;
        let y = &encryption_keys[(victim - 1) as usize];
        let c = make_complaint(&ceremony_fp, dealer, victim, y, &share.ephemeral, &mut rng);
        log.post(
            &trustee_keys[(victim - 1) as usize],
            Payload::DkgComplaint {
                trustee: victim,
                dealer,
                shared_key: c.shared_key,
                proof: c.proof,
            },
        )?;
        qualified.retain(|&i| i != dealer);
    }

    // The joint key.
    let commitments: Vec<Vec<Point>> = polys.iter().map(Polynomial::commitments).collect();
    let refs: Vec<&[Point]> = qualified
        .iter()
        .map(|&i| commitments[(i - 1) as usize].as_slice())
        .collect();
    let pk = joint_key(&refs).map_err(gen_err)?;
    let vks: Vec<Point> = (1..=n)
        .map(|l| verification_key(l, &refs).map(|x| *x.as_point()))
        .collect::<Result<_, _>>()
        .map_err(gen_err)?;
    log.post(
        &board,
        Payload::JointKey {
            qualified: qualified.clone(),
            public_key: pk,
            verification_keys: vks,
        },
    )?;
    let fp = Fingerprint::election(&manifest_hash, &pk.to_non_identity());
    for (l, key) in (1u32..).zip(&trustee_keys) {
        log.post(
            key,
            Payload::KeyAck {
                trustee: l,
                public_key: pk,
            },
        )?;
    }

    // Credentials, then voting.
    log.post(
        &credential_authority,
        Payload::CredentialList {
            credentials: voters
                .iter()
                .enumerate()
                .map(|(v, k)| CredentialEntry {
                    key: AuthorKey::of(k),
                    weight: weight(v),
                })
                .collect(),
        },
    )?;
    log.post(
        &board,
        Payload::VotingOpened {
            bundle_sha256: Sha256::digest(b"psephos test voting page").into(),
        },
    )?;

    let mut generated = Generated {
        spec: spec.clone(),
        board,
        trustee_keys,
        encryption_keys,
        credential_authority,
        voters,
        ballots: Vec::new(),
        fingerprint: fp,
        public_key: pk,
        entries: 0,
        root: [0; 32],
        checkpoint: String::new(),
        counts: spec
            .contests
            .iter()
            .map(|c| vec![0; c.options.len()])
            .collect(),
    };
    let positions: usize = spec.contests.iter().map(|c| c.options.len()).sum();
    let mut sums = vec![CiphertextSum::default(); positions];
    let mut start = 0;
    while start < spec.ballots {
        let end = (start + BALLOT_BATCH).min(spec.ballots);
        let made: Vec<(Post, BallotPlan)> = (start..end)
            .into_par_iter()
            .map(|i| {
                let voter = i % spec.voters;
                let rng_seed = derive_seed(&spec.seed, b"ballot", i as u64);
                let mut choice_rng =
                    ChaCha20Rng::from_seed(derive_seed(&spec.seed, b"choice", i as u64));
                let choices: Vec<Vec<u64>> = spec
                    .contests
                    .iter()
                    .map(|c| random_choice(c, &mut choice_rng))
                    .collect();
                let post = generated.ballot_post(&generated.voters[voter], &choices, rng_seed)?;
                Ok((
                    post,
                    BallotPlan {
                        entry: 0,
                        voter,
                        choices,
                        rng_seed,
                    },
                ))
            })
            .collect::<Result<_, VerifierError>>()?;
        for (i, (post, mut plan)) in (start..).zip(made) {
            if i + spec.voters >= spec.ballots {
                // The voter's last ballot: it is counted.
                let w = weight(plan.voter);
                let body: Body = serde_json::from_str(post.body_text()).map_err(gen_err)?;
                let Payload::Ballot(ballot) = body.payload else {
                    return Err(gen_err("ballot body is not a ballot"));
                };
                let cts = ballot.contests.iter().flat_map(|c| c.ciphertexts.iter());
                for (sum, ct) in sums.iter_mut().zip(cts) {
                    sum.add(ct, w);
                }
                for (counts, values) in generated.counts.iter_mut().zip(&plan.choices) {
                    for (c, v) in counts.iter_mut().zip(values) {
                        *c += w * v;
                    }
                }
            }
            plan.entry = log.append(post)?;
            if keep_ballots {
                generated.ballots.push(plan);
            }
        }
        start = end;
    }
    log.post(&generated.board, Payload::VotingClosed {})?;

    // Decryption by the decrypting trustees.
    let tally: Vec<Ciphertext> = sums.iter().map(CiphertextSum::finish).collect();
    let decrypting: Vec<u32> = if spec.decrypting.is_empty() {
        (1..=t).collect()
    } else {
        spec.decrypting.clone()
    };
    let mut partials = Vec::new();
    for &l in &decrypting {
        let received: Vec<Scalar> = qualified
            .iter()
            .map(|&i| polys[(i - 1) as usize].evaluate(l))
            .collect();
        let share = KeyShare::combine_shares(l, &received);
        let ds = share.decrypt(&fp, &tally, &mut rng);
        partials.push((l, ds.iter().map(|d| d.D).collect::<Vec<_>>()));
        log.post(
            &generated.trustee_keys[(l - 1) as usize],
            Payload::PartialDecryption {
                trustee: l,
                shares: ds,
            },
        )?;
    }
    // The generator checks its own arithmetic before posting the result.
    let flat: Vec<u64> = generated.counts.iter().flatten().copied().collect();
    let table = DlogTable::new(flat.iter().copied().max().unwrap_or(0));
    for (k, ct) in tally.iter().enumerate() {
        let pairs: Vec<(u32, Point)> = partials.iter().map(|(l, d)| (*l, d[k])).collect();
        let vg = combine(ct, &pairs).map_err(gen_err)?;
        if vg != &DalekScalar::from(flat[k]) * RISTRETTO_BASEPOINT_TABLE
            || table.solve(&vg).ok() != Some(flat[k])
        {
            return Err(gen_err(
                "the decrypted tally does not match the plaintext count",
            ));
        }
    }
    log.post(
        &generated.board,
        Payload::Result {
            tally,
            // SPEC.md §10.5: the first t valid partial decryptions in log order.
            trustees: decrypting.iter().copied().take(t as usize).collect(),
            counts: generated.counts.clone(),
        },
    )?;

    generated.entries = log.tree.len();
    generated.root = log.tree.root();
    generated.checkpoint = generated.sign_checkpoint(generated.entries, generated.root)?;
    Ok(generated)
}

/// A generated record in memory, with its secrets, for tampering.
#[derive(Debug, Clone)]
pub struct TestRecord {
    /// The lines, in log order.
    pub lines: Vec<String>,
    /// The keys and facts it was made with; `checkpoint` is kept in step
    /// with `lines` by [`TestRecord::rechain`].
    pub gen: Generated,
}

impl TestRecord {
    /// Generate a record (ballot plans kept).
    pub fn generate(spec: &ElectionSpec) -> Result<Self, VerifierError> {
        let mut lines = Vec::new();
        let gen = generate(spec, &mut lines, true)?;
        Ok(TestRecord { lines, gen })
    }

    /// Options that pin the board key and give the signed checkpoint.
    pub fn options(&self) -> Result<VerifyOptions, VerifierError> {
        Ok(VerifyOptions {
            source: "(generated record)".into(),
            election: Some(self.gen.spec.election.clone()),
            board_key: Some(self.gen.note_signer()?.verifier()),
            board_origin: Some(self.gen.spec.origin.clone()),
            checkpoint: Some(self.gen.checkpoint.clone()),
            require_result: true,
            chunk_size: 64,
            ..VerifyOptions::default()
        })
    }

    /// Verify with [`options`](Self::options).
    pub fn verify(&self) -> Result<Report, VerifierError> {
        Ok(verify_lines(
            self.lines.iter().map(String::as_str),
            self.options()?,
        ))
    }

    /// The entry at `i`.
    pub fn entry(&self, i: usize) -> Result<Entry, VerifierError> {
        let line = self.lines.get(i).ok_or_else(|| gen_err("no such line"))?;
        Entry::from_line(line).map_err(gen_err)
    }

    /// The parsed body of entry `i`.
    pub fn body(&self, i: usize) -> Result<Body, VerifierError> {
        serde_json::from_str(self.entry(i)?.body.get()).map_err(gen_err)
    }

    /// The positions of every entry of one type.
    pub fn find(&self, kind: &str) -> Vec<usize> {
        let tag = format!("\"type\":\"{kind}\"");
        (0..self.lines.len())
            .filter(|&i| {
                self.entry(i)
                    .map(|e| e.body.get().contains(&tag))
                    .unwrap_or(false)
            })
            .collect()
    }

    /// Replace entry `i`'s body with `body` signed by `key` (index, `prev`
    /// and time kept: call [`rechain`](Self::rechain) afterwards).
    pub fn set_body(
        &mut self,
        i: usize,
        body: &Body,
        key: &SigningKey,
    ) -> Result<(), VerifierError> {
        let post = Post::sign(body, key).map_err(gen_err)?;
        self.set_post(i, post)
    }

    /// Replace entry `i`'s body and signature with `post`'s.
    pub fn set_post(&mut self, i: usize, post: Post) -> Result<(), VerifierError> {
        let mut entry = self.entry(i)?;
        entry.body = post.body;
        entry.signature = post.signature;
        self.lines[i] = entry.to_line().map_err(gen_err)?;
        Ok(())
    }

    /// Insert `post` as a new entry before position `at`.
    pub fn insert(&mut self, at: usize, post: Post) -> Result<(), VerifierError> {
        let entry = Entry {
            index: at as u64,
            prev: GENESIS_PREV,
            time: START_TIME + at as u64,
            body: post.body,
            signature: post.signature,
        };
        self.lines.insert(at, entry.to_line().map_err(gen_err)?);
        Ok(())
    }

    /// Renumber every entry, rebuild the hash chain, and sign a new
    /// checkpoint over all lines: afterwards V1 and V11 hold whatever the
    /// bodies say. Lines that do not parse as entries are left as they are.
    pub fn rechain(&mut self) -> Result<(), VerifierError> {
        let mut prev = GENESIS_PREV;
        let mut tree = MerkleTree::new();
        for (i, line) in self.lines.iter_mut().enumerate() {
            if let Ok(mut entry) = Entry::from_line(line) {
                entry.index = i as u64;
                entry.prev = prev;
                *line = entry.to_line().map_err(gen_err)?;
            }
            prev = leaf_hash(line.as_bytes());
            tree.push(prev);
        }
        self.gen.entries = tree.len();
        self.gen.root = tree.root();
        self.gen.checkpoint = self.gen.sign_checkpoint(tree.len(), tree.root())?;
        Ok(())
    }
}
