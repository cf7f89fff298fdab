//! A small signed log made in memory, for the tests that need no board: a
//! manifest, a whole key ceremony (registrations, commits, reveals) and the
//! joint key, a board key, checkpoints and proofs, built with the crypto
//! crate exactly as SPEC.md §7, §8.5 and §9 say. The joint key is the one
//! the election's rules compute (`psephos_crypto::election`, SPEC.md
//! §10.3 rule 5), so the client's replay of the log accepts it; tests that
//! play a lying board rewrite entries and re-sign them with the board key.
//! Randomness is seeded: the same seed gives the same log.

#![allow(dead_code)]
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ed25519_dalek::SigningKey;
use psephos_crypto::ballot::{Contest, ContestOption};
use psephos_crypto::election::{Election as Rules, Trust};
use psephos_crypto::elgamal::{PublicKey, SecretKey};
use psephos_crypto::log::{leaf_hash, sign_checkpoint, Checkpoint, MerkleTree, NoteSigner};
use psephos_crypto::record::{
    parse_body, AuthorKey, Body, EncryptedShare, Entry, Manifest, Payload, Post, TrusteeInfo,
    GENESIS_PREV,
};
use psephos_crypto::share_encryption::encrypt_share;
use psephos_crypto::threshold::Polynomial;
use psephos_crypto::wire::ComplaintRef;
use psephos_crypto::Fingerprint;
use psephos_voter::api::{BoardInfo, BoardReceipt, ElectionStatus, InclusionProof};
use psephos_voter::election::{Board, Election, SetupScan};
use psephos_voter::VoterError;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

pub const ID: &str = "e1";
pub const ORIGIN: &str = "board.test";
/// Trustees of the fake election.
pub const N: u32 = 3;
/// Its threshold.
pub const T: u32 = 2;

pub fn contests() -> Vec<Contest> {
    let options = |ids: &[&str]| {
        ids.iter()
            .map(|i| ContestOption {
                id: (*i).into(),
                label: i.to_uppercase(),
            })
            .collect::<Vec<_>>()
    };
    vec![
        Contest {
            id: "mayor".into(),
            title: "Mayor".into(),
            options: options(&["ana", "ben", "cy", "dee", "eve"]),
            min_selections: 1,
            max_selections: 1,
            max_per_option: 1,
        },
        Contest {
            id: "budget".into(),
            title: "Budget".into(),
            options: options(&["parks", "roads", "schools"]),
            min_selections: 0,
            max_selections: 10,
            max_per_option: 5,
        },
    ]
}

/// A trustee of the fake election.
pub struct FakeTrustee {
    /// `l`.
    pub index: u32,
    /// Signs its posts.
    pub key: SigningKey,
    /// Its share-encryption key `y_l`.
    pub enc: SecretKey,
    /// Its dealing polynomial.
    pub poly: Polynomial,
}

/// A board with an election whose joint key is on the log.
pub struct FakeBoard {
    pub key: SigningKey,
    pub signer: NoteSigner,
    pub info: BoardInfo,
    pub lines: Vec<String>,
    pub tree: MerkleTree,
    pub trustees: Vec<FakeTrustee>,
    pub authority: SigningKey,
    pub rng: ChaCha20Rng,
}

impl FakeBoard {
    /// An honest election up to its joint key (seed 1).
    pub fn new() -> Self {
        Self::seeded(1)
    }

    /// An honest election up to its joint key: `N` trustees register,
    /// commit and reveal, and the board posts the joint key the rules give.
    pub fn seeded(seed: u64) -> Self {
        let mut board = Self::with_manifest(seed, |_| {});
        board.register_all();
        let reveals = board.commit_all();
        for body in &reveals {
            board.reveal(body);
        }
        board.post_joint_key();
        board
    }

    /// Only entry 0, the manifest (`N` trustees, threshold `T`) after
    /// `edit` changed it.
    pub fn with_manifest(seed: u64, edit: impl FnOnce(&mut Manifest)) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let key = SigningKey::generate(&mut rng);
        let signer = NoteSigner::new(ORIGIN, key.clone()).unwrap();
        let info = BoardInfo {
            origin: ORIGIN.into(),
            key: signer.verifier().to_vkey(),
            public_key: hex::encode(key.verifying_key().to_bytes()),
            mirror: None,
        };
        let trustees: Vec<FakeTrustee> = (1..=N)
            .map(|index| FakeTrustee {
                index,
                key: SigningKey::generate(&mut rng),
                enc: SecretKey::random(&mut rng),
                poly: Polynomial::random(T, &mut rng).unwrap(),
            })
            .collect();
        let authority = SigningKey::generate(&mut rng);
        let mut manifest = Manifest {
            title: "Test election".into(),
            contests: contests(),
            trustees: trustees
                .iter()
                .map(|t| TrusteeInfo {
                    index: t.index,
                    name: format!("Trustee {}", t.index),
                    key: AuthorKey::of(&t.key),
                })
                .collect(),
            threshold: T,
            credential_authority: AuthorKey::of(&authority),
            witnesses: Vec::new(),
            witness_quorum: 0,
            min_counted: None,
            max_ballots_per_credential: None,
        };
        edit(&mut manifest);
        let mut board = FakeBoard {
            key,
            signer,
            info,
            lines: Vec::new(),
            tree: MerkleTree::new(),
            trustees,
            authority,
            rng,
        };
        let board_key = board.key.clone();
        board.append(&board_key, Payload::Manifest(manifest));
        board
    }

    /// Leaf hash of entry 0.
    pub fn manifest_hash(&self) -> [u8; 32] {
        leaf_hash(self.lines[0].as_bytes())
    }

    /// Every trustee registers its encryption key (SPEC.md §10.3 rule 1).
    pub fn register_all(&mut self) {
        let posts: Vec<(SigningKey, Payload)> = self
            .trustees
            .iter()
            .map(|t| {
                (
                    t.key.clone(),
                    Payload::TrusteeRegistration {
                        trustee: t.index,
                        encryption_key: *t.enc.public_key().as_point(),
                    },
                )
            })
            .collect();
        for (key, payload) in posts {
            self.append(&key, payload);
        }
    }

    /// Trustee `l`'s reveal body: commitments, coefficient proofs and an
    /// encrypted share for every other trustee (SPEC.md §8.5.2).
    pub fn reveal_body(&mut self, l: u32) -> Body {
        let fp = Fingerprint::ceremony(&self.manifest_hash());
        let dealer = &self.trustees[l as usize - 1];
        let mut shares = Vec::new();
        for other in self.trustees.iter().filter(|o| o.index != l) {
            let (ephemeral, ciphertext) = encrypt_share(
                &fp,
                l,
                other.index,
                &other.enc.public_key().to_non_identity(),
                &dealer.poly.evaluate(other.index),
                &mut self.rng,
            )
            .unwrap();
            shares.push(EncryptedShare {
                to: other.index,
                ephemeral,
                ciphertext,
            });
        }
        Body {
            election: ID.into(),
            author: AuthorKey::of(&dealer.key),
            payload: Payload::DkgCommitments {
                trustee: l,
                commitments: dealer.poly.commitments(),
                proofs: dealer.poly.prove_coefficients(&fp, l, &mut self.rng),
                shares,
            },
        }
    }

    /// Every trustee commits to its reveal (SPEC.md §10.3 rule 2); returns
    /// the reveal bodies.
    pub fn commit_all(&mut self) -> Vec<Body> {
        let reveals: Vec<Body> = (1..=N).map(|l| self.reveal_body(l)).collect();
        for (l, body) in (1..=N).zip(&reveals) {
            let text = serde_json::to_string(body).unwrap();
            let key = self.trustees[l as usize - 1].key.clone();
            self.append(
                &key,
                Payload::DkgCommit {
                    trustee: l,
                    hash: Sha256::digest(text.as_bytes()).into(),
                },
            );
        }
        reveals
    }

    /// Post a reveal body, signed by its dealer (SPEC.md §10.3 rule 3).
    pub fn reveal(&mut self, body: &Body) -> u64 {
        let Payload::DkgCommitments { trustee, .. } = &body.payload else {
            panic!("not a reveal");
        };
        let key = &self.trustees[*trustee as usize - 1].key;
        let post = Post::sign(body, key).unwrap();
        self.append_post(post)
    }

    /// The first `n` entries replayed through the election's rules, as
    /// every role does.
    pub fn replay(&self, n: usize) -> Rules {
        let mut rules: Option<Rules> = None;
        for line in &self.lines[..n] {
            let entry = Entry::from_line(line).unwrap();
            let body = entry.open().unwrap();
            match &mut rules {
                None => {
                    let board = AuthorKey::of(&self.key);
                    let leaf = leaf_hash(line.as_bytes());
                    rules = Some(Rules::begin(&body, leaf, Some(&board)).unwrap());
                }
                Some(r) => {
                    r.apply(entry.index, &body, entry.body.get(), Trust::Nothing)
                        .unwrap();
                }
            }
        }
        rules.unwrap()
    }

    /// The joint key entry the rules give for the ceremony on the log
    /// (SPEC.md §8.5.4): the entries before the `joint_key` entry, if
    /// there is one.
    pub fn honest_joint_key(&self) -> Payload {
        let n = self
            .joint_key()
            .map_or(self.lines.len(), |(index, _)| index as usize);
        self.replay(n).finalize_keys().unwrap()
    }

    /// The board posts the honest joint key.
    pub fn post_joint_key(&mut self) -> u64 {
        let payload = self.honest_joint_key();
        let key = self.key.clone();
        self.append(&key, payload)
    }

    /// A lying board: replace the last entry by `payload` signed with
    /// `author`, re-chained and in the tree, as if it had always been there.
    pub fn rewrite_last(&mut self, author: &SigningKey, payload: Payload) -> u64 {
        self.lines.pop();
        self.tree =
            MerkleTree::from_leaves(self.lines.iter().map(|l| leaf_hash(l.as_bytes())).collect());
        self.append(author, payload)
    }

    /// The last `joint_key` entry: its index and payload.
    pub fn joint_key(&self) -> Option<(u64, Payload)> {
        self.lines.iter().rev().find_map(|line| {
            let entry = Entry::from_line(line).unwrap();
            let body = entry.open().unwrap();
            matches!(body.payload, Payload::JointKey { .. }).then_some((entry.index, body.payload))
        })
    }

    /// Index of the `joint_key` entry.
    pub fn joint_key_index(&self) -> u64 {
        self.joint_key().unwrap().0
    }

    /// `PK` as the `joint_key` entry has it.
    pub fn pk(&self) -> PublicKey {
        match self.joint_key() {
            Some((_, Payload::JointKey { public_key, .. })) => public_key,
            _ => panic!("no joint key on the log"),
        }
    }

    pub fn append(&mut self, author: &SigningKey, payload: Payload) -> u64 {
        let body = Body {
            election: ID.into(),
            author: AuthorKey::of(author),
            payload,
        };
        let post = Post::sign(&body, author).unwrap();
        self.append_post(post)
    }

    pub fn append_post(&mut self, post: Post) -> u64 {
        let index = self.lines.len() as u64;
        let prev = self
            .lines
            .last()
            .map_or(GENESIS_PREV, |l| leaf_hash(l.as_bytes()));
        let entry = Entry {
            index,
            prev,
            time: 1_700_000_000 + index,
            body: post.body,
            signature: post.signature,
        };
        let line = entry.to_line().unwrap();
        self.tree.push(leaf_hash(line.as_bytes()));
        self.lines.push(line);
        index
    }

    pub fn checkpoint(&self) -> String {
        let cp = Checkpoint {
            origin: format!("{ORIGIN}/{ID}"),
            size: self.tree.len(),
            root: self.tree.root(),
        };
        sign_checkpoint(&cp, &self.signer).unwrap()
    }

    /// The board's status document (`GET /api/v1/elections/{id}`, the
    /// full `wire::ElectionStatus`) filled from what the log holds, without
    /// the rules: it says `open` as soon as there is a joint key (the fake
    /// election needs no acks, credentials or `voting_opened` to be voted
    /// in) and leaves out the fingerprint, which the client computes from
    /// the log. The lying boards' tests edit it.
    pub fn status(&self) -> ElectionStatus {
        let bodies: Vec<Body> = self
            .lines
            .iter()
            .filter_map(|line| Entry::from_line(line).ok())
            .filter_map(|entry| parse_body(entry.body.get()).ok())
            .collect();
        let manifest = match bodies.first().map(|b| &b.payload) {
            Some(Payload::Manifest(m)) => m.clone(),
            _ => panic!("entry 0 is not a manifest"),
        };
        let mut status = ElectionStatus {
            id: ID.into(),
            title: manifest.title.clone(),
            state: "setup".into(),
            size: self.tree.len(),
            manifest_hash: hex::encode(self.manifest_hash()),
            trustees: manifest.trustees.clone(),
            threshold: manifest.threshold,
            manifest,
            public_key: None,
            fingerprint: None,
            verification_keys: None,
            qualified: None,
            registered: Vec::new(),
            committed: Vec::new(),
            commits_closed: false,
            revealed: Vec::new(),
            complaints: Vec::new(),
            acks: Vec::new(),
            credentials: None,
            bundle_sha256: None,
            ballots: 0,
            counted: 0,
            tally: None,
            decrypted: Vec::new(),
            result: None,
            waiting_for: "the fake board waits for nothing".into(),
            checkpoint: self.checkpoint(),
        };
        let mut voters = BTreeSet::new();
        for body in &bodies {
            match &body.payload {
                Payload::TrusteeRegistration { trustee, .. } => {
                    status.state = "key_ceremony".into();
                    status.registered.push(*trustee);
                }
                Payload::DkgCommit { trustee, .. } => status.committed.push(*trustee),
                Payload::DkgCommitsClosed {} => status.commits_closed = true,
                Payload::DkgCommitments { trustee, .. } => status.revealed.push(*trustee),
                Payload::DkgComplaint {
                    trustee, dealer, ..
                } => status.complaints.push(ComplaintRef {
                    trustee: *trustee,
                    dealer: *dealer,
                }),
                Payload::JointKey {
                    qualified,
                    public_key,
                    verification_keys,
                } => {
                    status.state = "open".into();
                    status.public_key = Some(public_key.as_point().to_hex());
                    status.qualified = Some(qualified.clone());
                    status.verification_keys =
                        Some(verification_keys.iter().map(|x| x.to_hex()).collect());
                }
                Payload::KeyAck { trustee, .. } => status.acks.push(*trustee),
                Payload::CredentialList { credentials } => {
                    status.credentials = Some(credentials.len() as u64)
                }
                Payload::VotingOpened { bundle_sha256 } => {
                    status.bundle_sha256 = Some(hex::encode(bundle_sha256))
                }
                Payload::Ballot(_) => {
                    status.ballots += 1;
                    voters.insert(body.author.0);
                }
                Payload::VotingClosed {} => status.state = "closed".into(),
                Payload::PartialDecryption { trustee, .. } => status.decrypted.push(*trustee),
                Payload::Result { tally, counts, .. } => {
                    status.state = "tallied".into();
                    status.tally = Some(tally.clone());
                    status.result = Some(counts.clone());
                }
                Payload::Manifest(_) => {}
            }
        }
        status.counted = voters.len() as u64;
        status
    }

    pub fn inclusion(&self, index: u64) -> InclusionProof {
        let size = self.tree.len();
        InclusionProof {
            index,
            size,
            leaf_hash: hex::encode(self.tree.leaf(index).unwrap()),
            proof: self
                .tree
                .inclusion_proof(index, size)
                .unwrap()
                .iter()
                .map(hex::encode)
                .collect(),
        }
    }

    pub fn jsonl(&self) -> String {
        self.lines.iter().map(|l| format!("{l}\n")).collect()
    }

    /// What a client makes of this log (SPEC.md §13.1): the whole scan,
    /// then the status and the inclusion proof of the joint key entry.
    pub fn learn(&self) -> Result<Election, VoterError> {
        let mut scan = SetupScan::new(ID, Board::from_info(&self.info)?);
        scan.push_lines(&self.jsonl())?;
        let index = self.joint_key().map_or(0, |(i, _)| i);
        scan.finish(&self.status(), &self.inclusion(index))
    }

    /// What a client learns from an honest log.
    pub fn election(&self) -> Election {
        self.learn().unwrap()
    }

    /// Accept a post and answer as the board does.
    pub fn receive(&mut self, post_json: &str) -> BoardReceipt {
        let post: Post = serde_json::from_str(post_json).unwrap();
        post.open().unwrap();
        let code = psephos_crypto::ballot::tracking_code(post.body_text().as_bytes());
        let index = self.append_post(post);
        let proof = self.inclusion(index);
        BoardReceipt {
            index,
            leaf_hash: proof.leaf_hash,
            tracking_code: hex::encode(code),
            short_code: psephos_crypto::ballot::short_tracking_code(&code),
            checkpoint: self.checkpoint(),
            inclusion_proof: proof.proof,
            size: self.tree.len(),
        }
    }
}
