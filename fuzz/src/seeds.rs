//! Seed inputs for every target (`examples/make_seeds.rs` writes them):
//! the frozen reference record of `verifier/tests/data/frozen` (every
//! payload type but one, a checkpoint, a board key) and inputs made here
//! with the targets' fixed keys, so that they pass the targets' signature
//! checks and reach the paths behind them. The committed corpora were
//! grown from these (FUZZING.md).

use std::path::Path;

use anyhow::{anyhow, Context};
use psephos_crypto::ballot::{short_tracking_code, tracking_code};
use psephos_crypto::credential::encode_credential;
use psephos_crypto::log::evidence::{Evidence, InvalidEntry};
use psephos_crypto::log::{
    add_cosignature, leaf_hash, sign_checkpoint, Checkpoint, Cosigner, Hash, MerkleTree, NoteSigner,
};
use psephos_crypto::record::{parse_body, AuthorKey, Body, Entry, Payload};
use psephos_voter::cast::PreparedBallot;
use psephos_voter::credential::Credential;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::json;

use crate::http::{fixture, BodyKind, HttpInput, ELECTIONS, ROUTES};
use crate::log::{cosigners, log_signer, FROZEN_BOARD_VKEY, LOG_NAME};
use crate::voter::audit_election;
use crate::{author_key, fixed_key};

/// One seed: its target, a file name, the bytes.
pub type Seed = (&'static str, String, Vec<u8>);

/// The frozen record: its lines, checkpoint note and board vkey.
pub struct Frozen {
    /// `record.jsonl`, one entry per line.
    pub lines: Vec<String>,
    /// `record.checkpoint`.
    pub checkpoint: String,
    /// `record.vkey`.
    pub vkey: String,
}

/// Read `verifier/tests/data/frozen` of this repository.
pub fn frozen() -> anyhow::Result<Frozen> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../verifier/tests/data/frozen");
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).with_context(|| format!("{}", dir.display()))
    };
    let frozen = Frozen {
        lines: read("record.jsonl")?.lines().map(str::to_owned).collect(),
        checkpoint: read("record.checkpoint")?,
        vkey: read("record.vkey")?.trim().to_owned(),
    };
    if frozen.vkey != FROZEN_BOARD_VKEY {
        return Err(anyhow!(
            "verifier/tests/data/frozen/record.vkey changed: update FROZEN_BOARD_VKEY"
        ));
    }
    Ok(frozen)
}

fn s(target: &'static str, name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Seed {
    (target, name.into(), bytes.into())
}

/// Every seed.
pub fn all() -> anyhow::Result<Vec<Seed>> {
    let frozen = frozen()?;
    let mut out = Vec::new();
    record(&frozen, &mut out)?;
    log(&frozen, &mut out)?;
    voter(&frozen, &mut out)?;
    http(&mut out)?;
    Ok(out)
}

fn bodies(frozen: &Frozen) -> anyhow::Result<Vec<(String, Body)>> {
    frozen
        .lines
        .iter()
        .map(|l| {
            let entry = Entry::from_line(l)?;
            let text = entry.body.get().to_owned();
            let body = parse_body(&text)?;
            Ok((text, body))
        })
        .collect()
}

fn record(frozen: &Frozen, out: &mut Vec<Seed>) -> anyhow::Result<()> {
    for (i, line) in frozen.lines.iter().enumerate() {
        out.push(s("entry_line", format!("frozen-{i:02}"), line.as_bytes()));
    }
    let author = AuthorKey::of(&author_key());
    let mut reauthored_types = Vec::new();
    for (i, (text, body)) in bodies(frozen)?.into_iter().enumerate() {
        let kind = body.payload.type_name();
        out.push(s("body", format!("frozen-{i:02}-{kind}"), text.as_bytes()));
        let mine = serde_json::to_string(&Body {
            author,
            ..body.clone()
        })?;
        if !reauthored_types.contains(&kind) {
            reauthored_types.push(kind);
            out.push(s("body", format!("signed-{kind}"), mine.as_bytes()));
        }
        if kind == "ballot" {
            out.push(s("ballot_body", format!("signed-{i:02}"), mine.as_bytes()));
        } else if kind == "voting_closed" || kind == "manifest" {
            out.push(s("ballot_body", format!("signed-{kind}"), mine.as_bytes()));
        }
        if i == 25 {
            out.push(s("ballot_body", "frozen-ballot", text.as_bytes()));
        }
    }
    let closed = Body {
        election: "frozen-2026".into(),
        author,
        payload: Payload::DkgCommitsClosed {},
    };
    out.push(s(
        "body",
        "signed-dkg_commits_closed",
        serde_json::to_string(&closed)?,
    ));
    Ok(())
}

/// A tree of `n` leaves, the ones from `fork_at` on different.
fn tree(n: u64, fork_at: Option<u64>) -> MerkleTree {
    MerkleTree::from_leaves(
        (0..n)
            .map(|i| {
                let tag = u8::from(fork_at.is_some_and(|f| i >= f));
                leaf_hash(&[tag, i as u8])
            })
            .collect(),
    )
}

fn note(signer: &NoteSigner, origin: &str, t: &MerkleTree, size: u64) -> anyhow::Result<String> {
    let cp = Checkpoint {
        origin: origin.into(),
        size,
        root: t.root_at(size)?,
    };
    Ok(sign_checkpoint(&cp, signer)?)
}

fn log(frozen: &Frozen, out: &mut Vec<Seed>) -> anyhow::Result<()> {
    let signer = log_signer();
    let log = signer.verifier();
    let cos = cosigners();
    let body_end = frozen
        .checkpoint
        .find("\n\n")
        .ok_or_else(|| anyhow!("the frozen checkpoint has no signatures"))?;
    let frozen_body = &frozen.checkpoint[..=body_end];
    let mut even = vec![0u8];
    even.extend_from_slice(frozen_body.as_bytes());
    out.push(s("checkpoint", "body-frozen", even));
    let empty = Checkpoint {
        origin: format!("{LOG_NAME}/e1"),
        size: 0,
        root: psephos_crypto::log::empty_root(),
    };
    let mut even = vec![2u8];
    even.extend_from_slice(empty.to_body().as_bytes());
    out.push(s("checkpoint", "body-empty", even));
    for (i, pattern) in [[0x41u8; 48], [0x7f; 48], [0x00; 48]].iter().enumerate() {
        let mut odd = vec![1u8];
        odd.extend_from_slice(pattern);
        odd.extend_from_slice(&[0, 1, 0x10, 0xff, 2, 0x20, 0x00, 0x01]);
        out.push(s("checkpoint", format!("structured-{i}"), odd));
    }

    out.push(s("signed_note", "frozen", frozen.checkpoint.as_bytes()));
    let t = tree(12, None);
    let origin = format!("{LOG_NAME}/e1");
    let plain = note(&signer, &origin, &t, 12)?;
    out.push(s("signed_note", "own", plain.as_bytes()));
    let mut cosigned = plain.clone();
    for (i, c) in cos.iter().enumerate() {
        cosigned = add_cosignature(&cosigned, &log, c, 1_767_225_600 + i as u64)?;
        out.push(s(
            "signed_note",
            format!("cosigned-{}", i + 1),
            cosigned.as_bytes(),
        ));
    }
    let stranger = Cosigner::new("stranger.example", fixed_key("stranger"))?;
    let foreign = add_cosignature(&plain, &log, &stranger, 7)?;
    out.push(s("signed_note", "foreign-cosigner", foreign.as_bytes()));
    let frozen_cosigned = format!("{}{}", frozen.checkpoint, &cosigned[plain.len()..]);
    out.push(s(
        "signed_note",
        "frozen-foreign-lines",
        frozen_cosigned.as_bytes(),
    ));

    out.push(s("vkey", "frozen", frozen.vkey.as_bytes()));
    out.push(s("vkey", "log", log.to_vkey().as_bytes()));
    for (i, c) in cos.iter().enumerate() {
        out.push(s(
            "vkey",
            format!("cosigner-{i}"),
            c.verifier().to_vkey().as_bytes(),
        ));
    }
    let mut structured = vec![0u8, 10];
    structured.extend_from_slice(b"board.test");
    structured.extend_from_slice(&[7; 32]);
    out.push(s("vkey", "structured", structured));

    // Equivocation evidence under the fixed log key.
    let vkey = log.to_vkey();
    let honest = tree(12, None);
    let forked = tree(9, Some(5));
    let ev = |a: &str, b: &str, proof: Option<&[Hash]>| {
        Evidence::between("e1", &vkey, a, b, proof, 1_767_225_600, "seed".into())
    };
    let same = ev(
        &note(&signer, &origin, &honest, 9)?,
        &note(&signer, &origin, &forked, 9)?,
        None,
    )
    .ok_or_else(|| anyhow!("no same-size evidence"))?;
    out.push(s("evidence", "same-size", serde_json::to_string(&same)?));
    let proof = honest.consistency_proof(6, 12)?;
    let prefix = ev(
        &note(&signer, &origin, &forked, 6)?,
        &note(&signer, &origin, &honest, 12)?,
        Some(&proof),
    )
    .ok_or_else(|| anyhow!("no prefix evidence"))?;
    out.push(s(
        "evidence",
        "prefix-mismatch",
        serde_json::to_string(&prefix)?,
    ));
    let mut unproven = prefix.clone();
    unproven.kind = psephos_crypto::log::evidence::EvidenceKind::UnprovenConsistency;
    out.push(s("evidence", "unproven", serde_json::to_string(&unproven)?));

    // Invalid-entry evidence on the frozen record.
    let leaves: Vec<Hash> = frozen
        .lines
        .iter()
        .map(|l| leaf_hash(l.as_bytes()))
        .collect();
    let frozen_tree = MerkleTree::from_leaves(leaves);
    let size = frozen_tree.len();
    for (index, prefix_size) in [(25u64, size), (3, 20)] {
        let invalid = InvalidEntry {
            election: "frozen-2026".into(),
            board_key: frozen.vkey.clone(),
            detected: 1_767_225_600,
            checkpoint: frozen.checkpoint.clone(),
            index,
            line: frozen.lines[index as usize].clone(),
            prefix_size,
            prefix_root: hex::encode(frozen_tree.root_at(prefix_size)?),
            inclusion_proof: frozen_tree
                .inclusion_proof(index, prefix_size)?
                .iter()
                .map(hex::encode)
                .collect(),
            consistency_proof: frozen_tree
                .consistency_proof(prefix_size, size)?
                .iter()
                .map(hex::encode)
                .collect(),
            code: "invalid_ballot".into(),
            message: "seed".into(),
        };
        out.push(s(
            "evidence",
            format!("invalid-entry-{index}-{prefix_size}"),
            serde_json::to_string(&invalid)?,
        ));
    }
    Ok(())
}

fn voter(frozen: &Frozen, out: &mut Vec<Seed>) -> anyhow::Result<()> {
    for i in 0..3 {
        let key = fixed_key(&format!("credential-{i}"));
        let code = encode_credential(&key);
        out.push(s("credential_code", format!("code-{i}"), code.as_bytes()));
    }
    let key = fixed_key("credential-3");
    out.push(s(
        "credential_code",
        "code-lower",
        encode_credential(&key).to_lowercase(),
    ));
    out.push(s(
        "credential_code",
        "hex-seed",
        format!(" {} ", hex::encode_upper(key.to_bytes())),
    ));

    let election = audit_election();
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    for (i, choices) in [
        vec![vec![1, 0, 0], vec![1, 0, 1, 1], vec![3, 0, 2]],
        vec![vec![0, 0, 1], vec![0, 0, 0, 0], vec![0, 0, 0]],
    ]
    .into_iter()
    .enumerate()
    {
        let credential = Credential::from_key(fixed_key(&format!("voter-{i}")));
        let ballot = PreparedBallot::new(election, &credential, &choices, &mut rng)?;
        let ballot = if i == 0 {
            ballot.with_board_url("https://board.psephos.test")
        } else {
            ballot
        };
        out.push(s("audit_code", format!("audit-{i}"), ballot.audit()?.0));
    }

    // Receipts for ballots of the frozen record, and on the fixed log.
    let leaves: Vec<Hash> = frozen
        .lines
        .iter()
        .map(|l| leaf_hash(l.as_bytes()))
        .collect();
    let t = MerkleTree::from_leaves(leaves);
    let size = t.len();
    for index in [22u64, 30] {
        let line = &frozen.lines[index as usize];
        let entry = Entry::from_line(line)?;
        let code = tracking_code(entry.body.get().as_bytes());
        let mut receipt = json!({
            "format": psephos_voter::receipt::RECEIPT_FORMAT,
            "board_key": frozen.vkey,
            "election": "frozen-2026",
            "index": index,
            "leaf_hash": hex::encode(leaf_hash(line.as_bytes())),
            "tracking_code": hex::encode(code),
            "short_code": short_tracking_code(&code),
            "checkpoint": frozen.checkpoint,
            "size": size,
            "inclusion_proof": t.inclusion_proof(index, size)?.iter().map(hex::encode).collect::<Vec<_>>(),
        });
        if index == 30 {
            receipt["board_url"] = json!("https://board.psephos.test");
            receipt["witnesses"] = json!([{
                "name": cosigners()[0].name(),
                "key": cosigners()[0].verifier().to_vkey(),
                "url": "https://witness-a.psephos.test",
            }]);
            receipt["witness_quorum"] = json!(1);
        }
        out.push(s(
            "receipt",
            format!("frozen-{index}"),
            serde_json::to_string_pretty(&receipt)?,
        ));
    }
    let signer = log_signer();
    let own = tree(7, None);
    let note = note(&signer, &format!("{LOG_NAME}/fuzz-2026"), &own, 7)?;
    let body = b"{}";
    let code = tracking_code(body);
    let receipt = json!({
        "format": psephos_voter::receipt::RECEIPT_FORMAT,
        "board_key": signer.verifier().to_vkey(),
        "election": "fuzz-2026",
        "index": 5,
        "leaf_hash": hex::encode(own.leaf(5).ok_or_else(|| anyhow!("leaf 5"))?),
        "tracking_code": hex::encode(code),
        "short_code": short_tracking_code(&code),
        "checkpoint": note,
        "size": 7,
        "inclusion_proof": own.inclusion_proof(5, 7)?.iter().map(hex::encode).collect::<Vec<_>>(),
    });
    out.push(s("receipt", "own", serde_json::to_string(&receipt)?));
    Ok(())
}

fn http(out: &mut Vec<Seed>) -> anyhow::Result<()> {
    let fx = fixture();
    let mut add = |name: String, input: HttpInput| out.push(("board_http", name, input.to_bytes()));
    // Every route, GET, on each fixed election (and one that does not exist).
    for (r, route) in ROUTES.iter().enumerate() {
        let elections = if route.contains("{id}") { 0..4u8 } else { 0..1 };
        for e in elections {
            let mut input = HttpInput::get(r as u8, e);
            input.path = match *route {
                "/api/v1/bundles/{bundle}/{x}" => "vote.html".into(),
                "/assets/{x}" => "app.js".into(),
                _ => String::new(),
            };
            add(format!("get-{r:02}-{e}"), input);
        }
    }
    let with_query = |route: u8, query: &str| HttpInput {
        query: query.into(),
        ..HttpInput::get(route, 0)
    };
    add("entries-range".into(), with_query(4, "start=1&end=3"));
    add("inclusion-index".into(), with_query(6, "index=2"));
    add("consistency".into(), with_query(7, "from=2&to=5"));
    add(
        "raw-path".into(),
        HttpInput {
            route: 200,
            path: "/api/v1/elections/fz-open/entries/../checkpoint".into(),
            ..HttpInput::get(0, 0)
        },
    );
    add(
        "head".into(),
        HttpInput {
            method: 2,
            ..HttpInput::get(3, 0)
        },
    );
    add(
        "preflight".into(),
        HttpInput {
            method: 3,
            headers: vec![
                ("origin".into(), "https://page.example".into()),
                ("access-control-request-method".into(), "GET".into()),
            ],
            ..HttpInput::get(4, 0)
        },
    );
    add(
        "custom-method".into(),
        HttpInput {
            method: 200,
            custom: "BREW".into(),
            ..HttpInput::get(3, 0)
        },
    );

    // Posts: a fresh ballot, a tampered one, posts of the setup election.
    let post = |election: u8, kind: BodyKind, signer: u8, body: Vec<u8>| HttpInput {
        method: 1,
        body_kind: kind,
        signer,
        headers: vec![("content-type".into(), "application/json".into())],
        body,
        ..HttpInput::get(8, election)
    };
    add("ballot".into(), post(0, BodyKind::Ballot, 1, vec![0, 1, 0]));
    add(
        "ballot-tampered".into(),
        post(0, BodyKind::Ballot, 2, vec![1, 0, 0, 0x40, 0x01, 0x04]),
    );
    add(
        "ballot-unlisted".into(),
        post(0, BodyKind::Ballot, 4, vec![2]),
    );
    let setup = &fx.sims[1];
    let registration = setup.registration(1)?;
    add(
        "registration".into(),
        post(
            1,
            BodyKind::Signed,
            6,
            registration.body_text().as_bytes().to_vec(),
        ),
    );
    let credentials = setup.credential_list()?;
    add(
        "credential-list".into(),
        post(
            1,
            BodyKind::Signed,
            9,
            credentials.body_text().as_bytes().to_vec(),
        ),
    );
    let reveal = setup.reveal_body(2)?;
    add(
        "commit".into(),
        post(
            1,
            BodyKind::Signed,
            7,
            setup
                .commit_for(2, &reveal)?
                .body_text()
                .as_bytes()
                .to_vec(),
        ),
    );
    add(
        "raw-post".into(),
        post(
            0,
            BodyKind::Raw,
            0,
            serde_json::to_vec(&setup.registration(2)?)?,
        ),
    );
    add(
        "garbage-post".into(),
        post(0, BodyKind::Raw, 0, b"{\"body\":".to_vec()),
    );

    // Admin: create an election, act on it, and on a fixed one (refused).
    let fresh = crate::http::sim("fz-new").manifest;
    let create = HttpInput {
        method: 1,
        admin: true,
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::to_vec(&json!({ "id": "fz-new", "manifest": fresh }))?,
        ..HttpInput::get(2, 0)
    };
    add("create".into(), create);
    for (route, action) in [
        (9u8, "close-commits"),
        (10, "finalize-keys"),
        (11, "open"),
        (12, "close"),
    ] {
        add(
            format!("admin-{action}"),
            HttpInput {
                method: 1,
                admin: true,
                election: 200,
                custom: "fz-new".into(),
                ..HttpInput::get(route, 0)
            },
        );
    }
    add(
        "admin-fixed".into(),
        HttpInput {
            method: 1,
            admin: true,
            ..HttpInput::get(12, 0)
        },
    );
    add(
        "open-bundle".into(),
        HttpInput {
            method: 1,
            admin: true,
            election: 200,
            custom: "fz-new".into(),
            body: format!("{{\"bundle_sha256\":\"{}\"}}", hex::encode([7u8; 32])).into_bytes(),
            ..HttpInput::get(11, 0)
        },
    );

    // Cosignatures: the election's own checkpoint, cosigned by a stranger.
    let checkpoint = fx.get_text(&format!("/api/v1/elections/{}/checkpoint", ELECTIONS[0]))?;
    add(
        "cosignatures".into(),
        HttpInput {
            method: 1,
            body: checkpoint.into_bytes(),
            ..HttpInput::get(13, 0)
        },
    );
    Ok(())
}
