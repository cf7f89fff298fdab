//! Issue 12, SPEC.md §14.2/§14.3 against the real bulletin board: a copy
//! of a running board's database served under the same key as a second
//! board (`psephos_board::testkit::TestBoard::fork`), on SQLite and on
//! PostgreSQL. The two boards share one history up to voter 1's ballot and
//! diverge at the close: the fork closes right after it. A trustee that
//! decrypted on the fork refuses the real board — the library with
//! `TrusteeError::Equivocation`, the `psephos-trustee` binary with exit 4 —
//! writes evidence that verifies and posts nothing; the other two trustees
//! complete the honest election.

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::{done, Admin, Party};
use psephos_board::testkit::TestBoard;
use psephos_crypto::log::evidence::{Evidence, EvidenceKind};
use psephos_crypto::record::Manifest;
use psephos_crypto::wire::{Created, Receipt};
use psephos_trustee::board::{AdminClient, BoardClient, HttpBoard};
use psephos_trustee::log_memory::evidence_path;
use psephos_trustee::view::fetch_ceremony_view;
use psephos_trustee::{credentials, steps, Result, TrusteeError};

impl Admin for AdminClient {
    fn create(&self, id: &str, manifest: &Manifest) -> Result<Created> {
        self.create_election(id, manifest)
    }
    fn close_commits(&self, id: &str) -> Result<Receipt> {
        AdminClient::close_commits(self, id)
    }
    fn finalize(&self, id: &str) -> Result<Receipt> {
        self.finalize_keys(id)
    }
    fn open(&self, id: &str) -> Result<Receipt> {
        AdminClient::open(self, id, &[7; 32])
    }
    fn close(&self, id: &str) -> Result<Receipt> {
        AdminClient::close(self, id)
    }
}

/// Which store the boards run on.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// One board under test: its HTTP clients, for the tool's blocking calls.
struct Clients {
    http: HttpBoard,
    admin: AdminClient,
}

impl Clients {
    fn of(board: &TestBoard) -> Self {
        Clients {
            http: HttpBoard::new(&board.url).unwrap(),
            admin: AdminClient::new(&board.url, &board.admin_token).unwrap(),
        }
    }

    fn lines(&self, id: &str) -> Vec<String> {
        let size = self.http.status(id).unwrap().size;
        let mut lines = Vec::new();
        while (lines.len() as u64) < size {
            let page = self
                .http
                .entries(id, lines.len() as u64, size)
                .unwrap()
                .lines;
            assert!(
                !page.is_empty(),
                "the board serves fewer entries than its size"
            );
            lines.extend(page);
        }
        lines
    }

    fn checkpoint(&self, id: &str) -> String {
        self.http.status(id).unwrap().checkpoint
    }
}

/// `psephos-trustee decrypt` against `board` with trustee `l`'s key file
/// of `party`: its exit status and its stdout and stderr.
fn decrypt_cli(board: &str, id: &str, party: &mut Party, l: u32) -> (Option<i32>, String) {
    let key = party.trustee(l).path().to_owned();
    let out = Command::new(env!("CARGO_BIN_EXE_psephos-trustee"))
        .args(["decrypt", "--board", board, "--election", id, "--key"])
        .arg(&key)
        .env("PSEPHOS_PASSPHRASE", format!("passphrase {l}"))
        .env("PSEPHOS_KEYFILE_WORK_FACTOR", "2")
        .env_remove("PSEPHOS_BOARD")
        .env_remove("PSEPHOS_ELECTION")
        .env_remove("PSEPHOS_KEY")
        .output()
        .expect("run psephos-trustee");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// The evidence file `path`, parsed and verified (SPEC.md §10.9.4).
fn read_evidence(path: &std::path::Path) -> Evidence {
    let evidence: Evidence = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    evidence.verify().unwrap();
    evidence
}

/// Cast `voter`'s ballot for `option` through the tool's ballot helper.
fn cast(
    board: &HttpBoard,
    id: &str,
    voter: &ed25519_dalek::SigningKey,
    option: usize,
    rng: &mut rand_chacha::ChaCha20Rng,
) {
    let view = fetch_ceremony_view(board, id).unwrap();
    let mut choice = vec![0u64; 3];
    choice[option] = 1;
    let receipt = board
        .post(id, &common::ballot(&view, voter, &[choice], rng))
        .unwrap();
    common::check_receipt(board, id, &receipt);
}

/// The attack on a real board: see the module documentation.
fn fork_at_close(backend: Backend) -> TestResult {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let real_board = match backend {
        Backend::Sqlite => rt.block_on(TestBoard::sqlite())?,
        Backend::Postgres => match rt.block_on(TestBoard::postgres())? {
            Some(board) => board,
            None => return Ok(()),
        },
    };
    let real = Clients::of(&real_board);
    let mut party = Party::seeded(3, 1201);
    let mut rng = common::seeded(1202);
    let manifest = party.manifest(2);
    assert_eq!(manifest.min_counted, Some(1));
    let id = "fork-attack";

    // The honest ceremony, credentials for five voters, voting opens.
    real.admin.create(id, &manifest).unwrap();
    common::honest_ceremony(&real.http, &real.admin, &mut party, id);
    let codes = party.dir.path().join("voters.txt");
    done(credentials::generate(&real.http, id, &party.ca, 5, None, &codes, &mut rng).unwrap());
    let voters = credentials::read_codes(&codes).unwrap();
    Admin::open(&real.admin, id).unwrap();

    // Voter 1 votes; then the board's database is copied and served under
    // the same key as a second board.
    cast(&real.http, id, &voters[0], 0, &mut rng);
    let fork_board = rt.block_on(real_board.fork())?;
    let fork = Clients::of(&fork_board);
    assert_eq!(
        fork.http.board_info().unwrap().key,
        real.http.board_info().unwrap().key,
        "one board key"
    );
    let shared = real.lines(id);
    assert_eq!(fork.lines(id), shared, "one history");
    assert_eq!(fork.checkpoint(id), real.checkpoint(id));
    assert_eq!(fork.http.status(id).unwrap().state, "open");

    // On the fork the election closes right after voter 1, and trustee 1
    // decrypts there: its key file now keeps the fork's checkpoint.
    fork.admin.close(id).unwrap();
    let fork_checkpoint = fork.checkpoint(id);
    let m = done(steps::decrypt(&fork.http, party.trustee(1), id).unwrap());
    assert!(
        m.contains("partial decryption of 3 tally ciphertexts over 1 counted"),
        "{m}"
    );
    assert_eq!(
        party.trustee(1).checkpoint(id),
        Some(fork_checkpoint.as_str())
    );
    assert_eq!(fork.http.status(id).unwrap().decrypted, vec![1]);

    // On the real board the others vote and the election closes.
    for (v, option) in [(1, 1), (2, 1), (3, 2), (4, 1)] {
        cast(&real.http, id, &voters[v], option, &mut rng);
    }
    let expected = vec![vec![1, 3, 1]];
    real.admin.close(id).unwrap();
    let real_checkpoint = real.checkpoint(id);
    let before = real.lines(id);
    assert_eq!(
        before[..shared.len()],
        shared[..],
        "the real log extends the shared history"
    );
    assert_ne!(
        before[shared.len()],
        fork.lines(id)[shared.len()],
        "the logs diverge at the fork's close"
    );

    // Trustee 1 refuses the real board: equivocation, with evidence.
    let err = steps::decrypt(&real.http, party.trustee(1), id).unwrap_err();
    let TrusteeError::Equivocation { evidence_file, .. } = &err else {
        panic!("expected equivocation, got {err:?}")
    };
    assert!(err.is_board_caught());
    assert_eq!(*evidence_file, evidence_path(party.trustee(1).path(), id));
    let evidence = read_evidence(evidence_file);
    assert_eq!(evidence.kind, EvidenceKind::PrefixMismatch);
    assert_eq!(evidence.election, id);
    assert_eq!(evidence.board_key, real.http.board_info().unwrap().key);
    assert_eq!(
        evidence.held, fork_checkpoint,
        "the fork's signed checkpoint"
    );
    assert_eq!(evidence.presented, real_checkpoint, "the real board's");
    assert_eq!(
        party.trustee(1).checkpoint(id),
        Some(fork_checkpoint.as_str()),
        "the key file keeps what it saw first"
    );

    // The binary refuses too: exit 4, the evidence file named and
    // written again.
    std::fs::remove_file(evidence_file).unwrap();
    let (code, text) = decrypt_cli(&real_board.url, id, &mut party, 1);
    assert_eq!(code, Some(4), "{text}");
    assert!(text.contains("the board equivocates"), "{text}");
    assert!(text.contains("Nothing was posted"), "{text}");
    assert!(
        text.contains(&evidence_file.display().to_string()),
        "{text}"
    );
    let again = read_evidence(evidence_file);
    assert_eq!(
        (again.kind, &again.held, &again.presented),
        (
            EvidenceKind::PrefixMismatch,
            &fork_checkpoint,
            &real_checkpoint
        )
    );

    // Nothing of trustee 1 reached the real board.
    assert_eq!(real.lines(id), before, "nothing posted");
    let status = real.http.status(id).unwrap();
    assert!(status.decrypted.is_empty(), "{:?}", status.decrypted);
    assert_eq!(real.checkpoint(id), real_checkpoint);

    // The other two trustees complete the honest election.
    for l in [2, 3] {
        let m = done(steps::decrypt(&real.http, party.trustee(l), id).unwrap());
        assert!(
            m.contains("partial decryption of 3 tally ciphertexts over 5 counted"),
            "{m}"
        );
    }
    let (view, _) = steps::recompute_tally(&real.http, id).unwrap();
    let result = view.election().published().unwrap();
    assert!(result.verified);
    assert_eq!(result.counts, expected);
    assert_eq!(result.trustees, vec![2, 3]);
    let status = common::check_status(&real.http, id);
    assert_eq!(status.state, "tallied");
    assert_eq!(status.result, Some(expected));

    // And the fork gets no second share: trustee 2 now holds the real
    // board's larger checkpoint and refuses the fork's shorter log.
    let fork_size = fork.lines(id).len();
    match steps::decrypt(&fork.http, party.trustee(2), id) {
        Err(e @ TrusteeError::Rollback { .. }) => assert!(e.is_board_caught()),
        other => panic!("expected a refused rollback, got {other:?}"),
    }
    assert_eq!(
        fork.lines(id).len(),
        fork_size,
        "nothing posted to the fork"
    );
    assert_eq!(fork.http.status(id).unwrap().decrypted, vec![1]);

    rt.block_on(fork_board.finish());
    rt.block_on(real_board.finish());
    Ok(())
}

mod a_trustee_that_decrypted_on_a_forked_board_refuses_the_real_one_with_evidence {
    use super::*;

    #[test]
    fn sqlite() -> TestResult {
        fork_at_close(Backend::Sqlite)
    }

    #[test]
    fn postgres() -> TestResult {
        fork_at_close(Backend::Postgres)
    }
}
