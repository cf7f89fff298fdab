//! A small signed log made in memory, for the tests that need no board:
//! manifest and joint key entries, a board key, checkpoints and proofs
//! built with the crypto crate exactly as SPEC.md §7 and §9 say.

#![allow(dead_code)]
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ed25519_dalek::SigningKey;
use psephos_crypto::ballot::{Contest, ContestOption};
use psephos_crypto::elgamal::SecretKey;
use psephos_crypto::log::{leaf_hash, sign_checkpoint, Checkpoint, MerkleTree, NoteSigner};
use psephos_crypto::record::{AuthorKey, Body, Entry, Manifest, Payload, Post, GENESIS_PREV};
use psephos_voter::api::{BoardInfo, BoardReceipt, ElectionStatus, InclusionProof};
use psephos_voter::election::{Board, Election, SetupScan};
use rand_core::OsRng;

pub const ID: &str = "e1";
pub const ORIGIN: &str = "board.test";

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

/// A board with an election whose joint key is on the log.
pub struct FakeBoard {
    pub key: SigningKey,
    pub signer: NoteSigner,
    pub info: BoardInfo,
    pub lines: Vec<String>,
    pub tree: MerkleTree,
    pub secret: SecretKey,
}

impl FakeBoard {
    pub fn new() -> Self {
        let key = SigningKey::generate(&mut OsRng);
        let signer = NoteSigner::new(ORIGIN, key.clone()).unwrap();
        let info = BoardInfo {
            origin: ORIGIN.into(),
            key: signer.verifier().to_vkey(),
            public_key: hex::encode(key.verifying_key().to_bytes()),
        };
        let secret = SecretKey::random(&mut OsRng);
        let mut board = FakeBoard {
            key,
            signer,
            info,
            lines: Vec::new(),
            tree: MerkleTree::new(),
            secret,
        };
        let authority = SigningKey::generate(&mut OsRng);
        let manifest = Manifest {
            title: "Test election".into(),
            contests: contests(),
            trustees: vec![],
            threshold: 1,
            credential_authority: AuthorKey::of(&authority),
        };
        let board_key = board.key.clone();
        board.append(&board_key, Payload::Manifest(manifest));
        let pk = board.secret.public_key();
        board.append(
            &board_key,
            Payload::JointKey {
                qualified: vec![1],
                public_key: pk,
                verification_keys: vec![*pk.as_point()],
            },
        );
        board
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

    pub fn status(&self) -> ElectionStatus {
        let manifest_hash = leaf_hash(self.lines[0].as_bytes());
        ElectionStatus {
            id: ID.into(),
            title: "Test election".into(),
            state: "open".into(),
            size: self.tree.len(),
            manifest_hash: hex::encode(manifest_hash),
            public_key: Some(self.secret.public_key().as_point().to_hex()),
            fingerprint: None,
            checkpoint: self.checkpoint(),
            bundle_sha256: None,
            result: None,
        }
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

    /// What a client learns (SPEC.md §13.1).
    pub fn election(&self) -> Election {
        let mut scan = SetupScan::new(ID, Board::from_info(&self.info).unwrap());
        assert!(scan.push_lines(&self.jsonl()).unwrap());
        scan.finish(&self.status(), &self.inclusion(1)).unwrap()
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
