//! The demo's voters: deterministic choices, the Benaloh audits, and
//! casting through the voter client library (`psephos_voter`) — ballots
//! encrypted in parallel (rayon), posted by a bounded pool of HTTP clients.
//!
//! # The choices (so that a test can recompute the expected result)
//!
//! Voter `v` (0-based, the line of the codes file) in round `r` takes
//! `h = SHA-256("psephos-demo/choice/v1" ‖ seed ‖ v ‖ r)` (integers as
//! little-endian `u64`, `u64`, `u32`) and chooses
//!
//! * mayor: `x = u16_le(h[0..2]) mod 100`; option 0 if `x < 40`, 1 if
//!   `x < 70`, 2 if `x < 90`, else 3;
//! * parks (approve 0 to 2): option `k` approved when `h[2 + k] < [150, 100, 60][k]`;
//!   if all three are, option 2 is dropped.
//!
//! Everyone's counted ballot is round 1. A revoter first casts round 0,
//! then round 1. An auditor encrypts round 1, audits that ballot (it is
//! spoiled, never sent), then casts a fresh encryption of round 1.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use indicatif::ProgressBar;
use psephos_crypto::ballot::{Contest, ContestOption};
use psephos_voter::api::{board_hash, BoardInfo};
use psephos_voter::cast::{check_audit_code, PreparedBallot};
use psephos_voter::credential::Credential;
use psephos_voter::election::Election;
use psephos_voter::http::BoardClient;
use psephos_voter::receipt::Receipt;
use rand_core::OsRng;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

/// Domain of the choice hash.
pub const CHOICE_DOMAIN: &[u8] = b"psephos-demo/choice/v1";

/// Every this many voters, one receipt is checked in full (signed
/// checkpoint, inclusion proof, and the entry's bytes fetched back); every
/// other receipt's tracking code is compared.
pub const FULL_RECEIPT_EVERY: usize = 20;

/// The demo's contests: a plurality race and an approval question.
pub fn contests() -> Vec<Contest> {
    let options = |items: &[(&str, &str)]| {
        items
            .iter()
            .map(|(id, label)| ContestOption {
                id: (*id).to_owned(),
                label: (*label).to_owned(),
            })
            .collect()
    };
    vec![
        Contest {
            id: "mayor".into(),
            title: "Mayor of Psephos".into(),
            options: options(&[
                ("ada", "Ada Lovelace"),
                ("alan", "Alan Turing"),
                ("grace", "Grace Hopper"),
                ("edsger", "Edsger Dijkstra"),
            ]),
            min_selections: 1,
            max_selections: 1,
            max_per_option: 1,
        },
        Contest {
            id: "parks".into(),
            title: "Parks budget (approve up to two)".into(),
            options: options(&[
                ("playgrounds", "Playgrounds"),
                ("trees", "Trees"),
                ("lakes", "Lakes"),
            ]),
            min_selections: 0,
            max_selections: 2,
            max_per_option: 1,
        },
    ]
}

/// Voter `voter`'s choices in `round` (see the module documentation).
pub fn choices(seed: u64, voter: u64, round: u32) -> Vec<Vec<u64>> {
    let mut hasher = Sha256::new();
    hasher.update(CHOICE_DOMAIN);
    hasher.update(seed.to_le_bytes());
    hasher.update(voter.to_le_bytes());
    hasher.update(round.to_le_bytes());
    let h: [u8; 32] = hasher.finalize().into();
    let x = u16::from_le_bytes([h[0], h[1]]) % 100;
    let pick = match x {
        0..=39 => 0,
        40..=69 => 1,
        70..=89 => 2,
        _ => 3,
    };
    let mayor = (0..4).map(|i| u64::from(i == pick)).collect();
    let mut parks: Vec<u64> = [150u8, 100, 60]
        .iter()
        .zip(&h[2..5])
        .map(|(limit, b)| u64::from(b < limit))
        .collect();
    if parks.iter().sum::<u64>() > 2 {
        parks[2] = 0;
    }
    vec![mayor, parks]
}

/// Whether voter `v` casts twice.
pub fn revotes(v: usize, every: usize) -> bool {
    every > 0 && v % every == every - 1
}

/// The counts the election must publish: every voter's round 1.
pub fn expected_counts(seed: u64, voters: usize) -> Vec<Vec<u64>> {
    let mut total: Vec<Vec<u64>> = contests()
        .iter()
        .map(|c| vec![0; c.options.len()])
        .collect();
    for v in 0..voters {
        for (t, c) in total.iter_mut().zip(choices(seed, v as u64, 1)) {
            for (a, b) in t.iter_mut().zip(c) {
                *a += b;
            }
        }
    }
    total
}

/// One ballot to cast.
#[derive(Debug, Clone)]
pub struct CastJob {
    /// The voter (line of the codes file).
    pub voter: usize,
    /// Choices per contest, per option.
    pub choices: Vec<Vec<u64>>,
}

/// What casting measured.
#[derive(Debug, Default)]
pub struct CastStats {
    /// Ballots encrypted.
    pub encrypted: usize,
    /// Wall time spent encrypting (all cores).
    pub encrypt_time: Duration,
    /// Ballots posted and acknowledged.
    pub posted: usize,
    /// Wall time spent posting.
    pub post_time: Duration,
    /// Each post's latency, in microseconds.
    pub latencies_us: Vec<u64>,
    /// Receipts checked in full.
    pub receipts_checked: usize,
}

impl CastStats {
    /// A latency percentile, in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let mut v = self.latencies_us.clone();
        v.sort_unstable();
        let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
        v[i.min(v.len() - 1)] as f64 / 1000.0
    }
}

/// Everything a voter's device knows.
pub struct Voters<'a> {
    /// The board, as the voter client speaks to it.
    pub client: BoardClient,
    /// The election as the client learned and checked it.
    pub election: Election,
    /// The board's info (checkpoint key).
    pub info: BoardInfo,
    /// The voters' credentials, parsed from the codes file.
    pub credentials: &'a [Credential],
    /// Concurrent posts.
    pub clients: usize,
    /// Ballots encrypted per round before they are posted.
    pub chunk: usize,
}

impl std::fmt::Debug for Voters<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Voters({}, {})",
            self.election.id,
            self.credentials.len()
        )
    }
}

impl Voters<'_> {
    fn credential(&self, v: usize) -> Result<&Credential> {
        self.credentials
            .get(v)
            .ok_or_else(|| anyhow!("no credential for voter {v}"))
    }

    /// Voter `v` encrypts its choices, audits that ballot, and a second
    /// device (a fresh client that learns the election itself) checks the
    /// audit code: the revealed choices must be the ones intended. Returns
    /// the short tracking code of the spoiled ballot.
    pub fn audit(&self, v: usize, choices: &[Vec<u64>]) -> Result<String> {
        let prepared =
            PreparedBallot::new(&self.election, self.credential(v)?, choices, &mut OsRng)?
                .with_board_url(self.client.base());
        let short = prepared.short_code();
        let code = prepared.audit()?;
        let second = BoardClient::new(self.client.base())?;
        let (election, _) = second.election(&self.election.id)?;
        let report = check_audit_code(&election, &code.0)?;
        if report.short_code != short {
            bail!(
                "voter {v}: the audit shows tracking code {} instead of {short}",
                report.short_code
            );
        }
        let revealed: Vec<Vec<u64>> = report
            .contests
            .iter()
            .map(|c| c.values.iter().map(|(_, x)| *x).collect())
            .collect();
        if revealed != choices {
            bail!("voter {v}: the audited ballot holds {revealed:?}, not the choices {choices:?}");
        }
        Ok(short)
    }

    /// Encrypt (in parallel) and cast every job, `chunk` at a time.
    pub fn cast_all(
        &self,
        jobs: &[CastJob],
        bar: &ProgressBar,
        stats: &mut CastStats,
    ) -> Result<()> {
        for chunk in jobs.chunks(self.chunk.max(1)) {
            let t0 = Instant::now();
            let prepared = chunk
                .par_iter()
                .map(|job| -> Result<(usize, PreparedBallot)> {
                    let b = PreparedBallot::new(
                        &self.election,
                        self.credential(job.voter)?,
                        &job.choices,
                        &mut OsRng,
                    )
                    .with_context(|| format!("voter {}", job.voter))?;
                    Ok((job.voter, b))
                })
                .collect::<Result<Vec<_>>>()?;
            stats.encrypt_time += t0.elapsed();
            stats.encrypted += prepared.len();
            let t1 = Instant::now();
            let (latencies, checked) = self.post_chunk(&prepared, bar)?;
            stats.post_time += t1.elapsed();
            stats.posted += prepared.len();
            stats.latencies_us.extend(latencies);
            stats.receipts_checked += checked;
        }
        Ok(())
    }

    /// Post prepared ballots from `clients` threads; every receipt's
    /// tracking code is compared, one in [`FULL_RECEIPT_EVERY`] checked in
    /// full. Returns the latencies and the number of full checks.
    fn post_chunk(
        &self,
        prepared: &[(usize, PreparedBallot)],
        bar: &ProgressBar,
    ) -> Result<(Vec<u64>, usize)> {
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
        let latencies = Mutex::new(Vec::with_capacity(prepared.len()));
        let checked = AtomicUsize::new(0);
        let workers = self.clients.clamp(1, prepared.len().max(1));
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    while !failed.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((voter, ballot)) = prepared.get(i) else {
                            break;
                        };
                        match self.post_one(*voter, ballot) {
                            Ok((latency, full)) => {
                                mine.push(latency.as_micros() as u64);
                                if full {
                                    checked.fetch_add(1, Ordering::Relaxed);
                                }
                                bar.inc(1);
                            }
                            Err(e) => {
                                failed.store(true, Ordering::Relaxed);
                                if let Ok(mut slot) = first_error.lock() {
                                    slot.get_or_insert(e);
                                }
                            }
                        }
                    }
                    if let Ok(mut all) = latencies.lock() {
                        all.extend(mine);
                    }
                });
            }
        });
        if let Some(e) = first_error.into_inner().ok().flatten() {
            return Err(e);
        }
        let latencies = latencies
            .into_inner()
            .map_err(|_| anyhow!("a poster thread panicked"))?;
        Ok((latencies, checked.into_inner()))
    }

    fn post_one(&self, voter: usize, ballot: &PreparedBallot) -> Result<(Duration, bool)> {
        let t = Instant::now();
        let answer = self
            .client
            .post_ballot(&self.election.id, ballot.post_json()?)
            .with_context(|| format!("voter {voter}'s ballot"))?;
        let latency = t.elapsed();
        if board_hash("tracking_code", &answer.tracking_code)? != ballot.tracking_code() {
            bail!("voter {voter}: the receipt's tracking code is not the ballot's");
        }
        // (Not `is_multiple_of`: the workspace's rust-version is 1.80.)
        let rem = voter % FULL_RECEIPT_EVERY;
        if rem != 0 {
            return Ok((latency, false));
        }
        let line = self
            .client
            .entries(&self.election.id, answer.index, answer.index + 1)?;
        Receipt::accept(
            &self.election.board,
            &self.info.key,
            &self.election.id,
            ballot.body_text(),
            &answer,
            line.trim_end(),
        )
        .with_context(|| format!("voter {voter}'s receipt"))?;
        Ok((latency, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_follow_every_contest_rule() {
        let contests = contests();
        for v in 0..500 {
            for r in 0..2 {
                let c = choices(7, v, r);
                assert!(
                    psephos_voter::choice::check_all(&contests, &c).is_empty(),
                    "{c:?}"
                );
            }
        }
    }

    #[test]
    fn expected_counts_add_up_to_one_mayor_vote_per_voter() {
        let e = expected_counts(2026, 123);
        assert_eq!(e[0].iter().sum::<u64>(), 123);
    }
}
