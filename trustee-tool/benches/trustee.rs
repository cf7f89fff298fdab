//! Trustee-tool timings for BENCHMARKS.md ("Trustee tool"):
//!
//! * the whole key ceremony for n = 5, t = 3 (keygen excluded: register,
//!   round 1, round 2, finalize, ack for every trustee), in-process against
//!   the in-memory board and over HTTP against the real board (SQLite);
//! * the decryption of a 1,000,000-ballot tally (4 options): t partial
//!   decryptions with proofs, their verification, Lagrange combination and
//!   the bounded discrete logarithm (bound 10^6), on a tally built
//!   homomorphically in memory.
//!
//! `cargo bench -p psephos-trustee --bench trustee` (plain timing harness:
//! median of several runs, printed as a table).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use psephos_crypto::ballot::{Contest, ContestOption};
use psephos_crypto::dlog::DlogTable;
use psephos_crypto::elgamal::Ciphertext;
use psephos_crypto::encoding::Point;
use psephos_crypto::record::{Manifest, TrusteeInfo};
use psephos_crypto::threshold::{combine, verify_decryption, KeyShare, Polynomial};
use psephos_crypto::Fingerprint;
use psephos_trustee::board::{AdminClient, BoardClient, HttpBoard};
use psephos_trustee::credentials::AuthorityKeyFile;
use psephos_trustee::keyfile::{Passphrase, WorkFactor};
use psephos_trustee::memory_board::MemoryBoard;
use psephos_trustee::state::TrusteeKeyFile;
use psephos_trustee::steps;
use rand_core::OsRng;

const N: u32 = 5;
const T: u32 = 3;
const WORK: WorkFactor = WorkFactor(Some(2));

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

struct Party {
    _dir: tempfile::TempDir,
    trustees: Vec<TrusteeKeyFile>,
    manifest: Manifest,
}

fn party() -> Party {
    let dir = tempfile::tempdir().unwrap();
    let trustees: Vec<TrusteeKeyFile> = (1..=N)
        .map(|l| {
            TrusteeKeyFile::create(
                &dir.path().join(format!("t{l}.key")),
                Passphrase::new("bench"),
                WORK,
                &mut OsRng,
            )
            .unwrap()
        })
        .collect();
    let ca = AuthorityKeyFile::create(
        &dir.path().join("ca.key"),
        &Passphrase::new("bench"),
        WORK,
        &mut OsRng,
    )
    .unwrap();
    let manifest = Manifest {
        title: "bench".into(),
        contests: vec![Contest {
            id: "c".into(),
            title: "Contest".into(),
            options: (0..4)
                .map(|i| ContestOption {
                    id: format!("o{i}"),
                    label: format!("Option {i}"),
                })
                .collect(),
            min_selections: 1,
            max_selections: 1,
            max_per_option: 1,
        }],
        trustees: trustees
            .iter()
            .zip(1u32..)
            .map(|(f, l)| TrusteeInfo {
                index: l,
                name: format!("T{l}"),
                key: f.keys().author(),
            })
            .collect(),
        threshold: T,
        credential_authority: ca.author(),
        witnesses: Vec::new(),
        witness_quorum: 0,
        min_counted: Some(1),
        max_ballots_per_credential: None,
    };
    Party {
        _dir: dir,
        trustees,
        manifest,
    }
}

fn ceremony<B: BoardClient>(board: &B, finalize: impl Fn(&str), p: &mut Party, id: &str) {
    for f in &mut p.trustees {
        steps::register(board, f, id).unwrap();
    }
    for _ in 0..2 {
        for f in &mut p.trustees {
            steps::round1(board, f, id).unwrap();
        }
    }
    for f in &mut p.trustees {
        assert!(steps::round2(board, f, id).unwrap().is_done());
    }
    finalize(id);
    for f in &mut p.trustees {
        assert!(steps::ack(board, f, id).unwrap().is_done());
    }
}

fn bench_ceremony_memory(runs: usize) -> Duration {
    let mut times = Vec::new();
    for k in 0..runs {
        let board = MemoryBoard::new();
        let mut p = party();
        let id = format!("bench{k}");
        board.create_election(&id, &p.manifest).unwrap();
        let start = Instant::now();
        ceremony(
            &board,
            |id| {
                board.finalize_keys(id).unwrap();
            },
            &mut p,
            &id,
        );
        times.push(start.elapsed());
    }
    median(times)
}

fn bench_ceremony_http(runs: usize) -> Duration {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let tb = rt
        .block_on(psephos_board::testkit::TestBoard::sqlite())
        .unwrap();
    let board = HttpBoard::new(&tb.url).unwrap();
    let admin = AdminClient::new(&tb.url, &tb.admin_token).unwrap();
    let mut times = Vec::new();
    for k in 0..runs {
        let mut p = party();
        let id = format!("bench{k}");
        admin.create_election(&id, &p.manifest).unwrap();
        let start = Instant::now();
        ceremony(
            &board,
            |id| {
                admin.finalize_keys(id).unwrap();
            },
            &mut p,
            &id,
        );
        times.push(start.elapsed());
    }
    rt.block_on(tb.finish());
    median(times)
}

struct DecryptTimes {
    partial: Duration,
    verify: Duration,
    combine: Duration,
    table: Duration,
}

fn bench_decrypt_1m(runs: usize) -> DecryptTimes {
    // A dealt key for n = 5, t = 3 (the ceremony's algebra, no board).
    let polys: Vec<Polynomial> = (0..N)
        .map(|_| Polynomial::random(T, &mut OsRng).unwrap())
        .collect();
    let commitments: Vec<Vec<Point>> = polys.iter().map(Polynomial::commitments).collect();
    let refs: Vec<&[Point]> = commitments.iter().map(Vec::as_slice).collect();
    let pk = psephos_crypto::threshold::joint_key(&refs).unwrap();
    let shares: Vec<KeyShare> = (1..=N)
        .map(|l| {
            let received: Vec<_> = polys.iter().map(|p| p.evaluate(l)).collect();
            KeyShare::combine_shares(l, &received)
        })
        .collect();
    let vks: Vec<Point> = shares.iter().map(KeyShare::verification_key).collect();
    let fp = Fingerprint::election(&[9; 32], &pk.to_non_identity());
    // The tally of 1,000,000 plurality ballots over 4 options, built
    // homomorphically: Enc(count) per option (what Σ of the ballots gives).
    let counts = [412_345u64, 300_001, 187_654, 100_000];
    let tally: Vec<Ciphertext> = counts
        .iter()
        .map(|c| pk.encrypt(*c, &mut OsRng).0)
        .collect();
    let trustees = [1u32, 3, 5];
    let mut out = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let partials: Vec<_> = trustees
            .iter()
            .map(|&l| shares[l as usize - 1].decrypt(&fp, &tally, &mut OsRng))
            .collect();
        let partial = start.elapsed();
        let start = Instant::now();
        for (&l, ds) in trustees.iter().zip(&partials) {
            verify_decryption(&fp, l, &vks[l as usize - 1], &tally, ds).unwrap();
        }
        let verify = start.elapsed();
        let start = Instant::now();
        let table = DlogTable::new(1_000_000);
        let table_time = start.elapsed();
        let start = Instant::now();
        for (k, ct) in tally.iter().enumerate() {
            let ds: Vec<(u32, Point)> = trustees
                .iter()
                .zip(&partials)
                .map(|(&l, p)| (l, p[k].D))
                .collect();
            assert_eq!(table.solve(&combine(ct, &ds).unwrap()).unwrap(), counts[k]);
        }
        let combine_time = start.elapsed();
        out.push((partial, verify, combine_time, table_time));
    }
    DecryptTimes {
        partial: median(out.iter().map(|o| o.0).collect()),
        verify: median(out.iter().map(|o| o.1).collect()),
        combine: median(out.iter().map(|o| o.2).collect()),
        table: median(out.iter().map(|o| o.3).collect()),
    }
}

fn main() {
    // `cargo test --benches` passes --bench too; a bare `cargo bench`
    // passes --bench. Either way run quickly when asked to test only.
    let quick = std::env::args().any(|a| a == "--test");
    let runs = if quick { 1 } else { 5 };
    let mem = bench_ceremony_memory(runs);
    let http = bench_ceremony_http(runs);
    let d = bench_decrypt_1m(runs);
    println!("| measurement (n = 5, t = 3) | median ms |");
    println!("|---|---|");
    println!(
        "| key ceremony, in-memory board (register → ack, 5 trustees) | {} |",
        ms(mem)
    );
    println!(
        "| key ceremony over HTTP, real board on SQLite | {} |",
        ms(http)
    );
    println!(
        "| 1M-ballot tally, 4 options: 3 partial decryptions with proofs | {} |",
        ms(d.partial)
    );
    println!(
        "| — verification of the 3 partial decryptions | {} |",
        ms(d.verify)
    );
    println!("| — dlog table for bound 10^6 | {} |", ms(d.table));
    println!(
        "| — Lagrange combination + dlog of 4 counts | {} |",
        ms(d.combine)
    );
    println!(
        "| — total decryption of the tally | {} |",
        ms(d.partial + d.verify + d.table + d.combine)
    );
}
