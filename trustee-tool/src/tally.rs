//! The encrypted tally, recomputed by the trustee from the log rather than
//! taken from the board (SPEC.md §8.5.5), and the combination of partial
//! decryptions into counts (SPEC.md §8.4).
//!
//! Counted ballots: `ballot` entries between `voting_opened` and
//! `voting_closed`, signed by a credential on the list, whose proofs verify
//! (SPEC.md §6.4); of those, the last one per credential. A ballot whose
//! proofs fail is not counted and is reported (an honest board never
//! accepts one). Each counted ballot's ciphertexts, flattened contests then
//! options, are added with the credential's weight.

use std::collections::HashMap;

use psephos_crypto::ballot::{prepare_ballot, BallotContext, Contest};
use psephos_crypto::dlog::DlogTable;
use psephos_crypto::elgamal::{Ciphertext, CiphertextSum, PublicKey};
use psephos_crypto::encoding::Point;
use psephos_crypto::proofs::BatchVerifier;
use psephos_crypto::threshold::{combine, verify_decryption};
use psephos_crypto::Fingerprint;

use crate::ceremony::list;
use crate::error::{Result, TrusteeError};
use crate::view::{BallotItem, ElectionView};

/// The recomputed tally.
#[derive(Clone, Debug)]
pub struct EncryptedTally {
    /// One ciphertext per option, contests then options.
    pub ciphertexts: Vec<Ciphertext>,
    /// Credentials with a counted ballot.
    pub counted: u64,
    /// Sum of their weights.
    pub counted_weight: u64,
    /// Ballot entries not counted because their proofs fail: (index, why).
    pub invalid: Vec<(u64, String)>,
}

/// Builds the tally page by page.
#[derive(Debug)]
pub struct TallyBuilder {
    contests: Vec<Contest>,
    pk: PublicKey,
    fp: Fingerprint,
    weights: HashMap<[u8; 32], u64>,
    sums: Vec<CiphertextSum>,
    /// Last counted ballot per credential, compressed (`R ‖ C` per position),
    /// to subtract when the voter votes again.
    last: HashMap<[u8; 32], Vec<[u8; 64]>>,
    invalid: Vec<(u64, String)>,
    threads: usize,
}

impl TallyBuilder {
    /// A builder for the election in `view` (joint key and credential list
    /// must be on the log).
    pub fn new(view: &ElectionView) -> Result<Self> {
        let joint = view.joint.as_ref().ok_or_else(|| {
            TrusteeError::Protocol("no joint key on the board: nothing to tally".into())
        })?;
        let fp = view
            .election_fp()
            .ok_or_else(|| TrusteeError::Protocol("no election fingerprint".into()))?;
        let mut weights = HashMap::new();
        for c in view.credentials.iter().flatten() {
            weights.insert(c.key.0, c.weight);
        }
        let len: usize = view.manifest.contests.iter().map(|c| c.options.len()).sum();
        Ok(TallyBuilder {
            contests: view.manifest.contests.clone(),
            pk: joint.public_key,
            fp,
            weights,
            sums: vec![CiphertextSum::default(); len],
            last: HashMap::new(),
            invalid: Vec::new(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        })
    }

    fn verify_chunk(&self, items: &[BallotItem]) -> Vec<Option<String>> {
        let mut verdicts: Vec<Option<String>> = vec![None; items.len()];
        let mut batch = BatchVerifier::new();
        for (k, item) in items.iter().enumerate() {
            let ctx = BallotContext {
                fingerprint: &self.fp,
                pk: &self.pk,
                credential: &item.author.0,
            };
            match prepare_ballot(&ctx, &self.contests, &item.ballot) {
                Err(e) => verdicts[k] = Some(e.to_string()),
                Ok(prepared) => {
                    if let Some(e) = prepared
                        .range_proofs
                        .iter()
                        .find_map(|rp| rp.verify(&self.fp).err())
                    {
                        verdicts[k] = Some(e.to_string());
                    } else {
                        batch.push(k, prepared.equations);
                    }
                }
            }
        }
        if let Err(bad) = batch.verify() {
            for k in bad {
                verdicts[k] = Some("a ballot proof does not verify".into());
            }
        }
        verdicts
    }

    /// Verify one page of ballots (in parallel) and count them in order.
    pub fn add_page(&mut self, items: Vec<BallotItem>) -> Result<()> {
        let chunk = items.len().div_ceil(self.threads.max(1)).max(1);
        let this = &*self;
        let verdicts: Vec<Option<String>> = std::thread::scope(|s| {
            let handles: Vec<_> = items
                .chunks(chunk)
                .map(|c| s.spawn(move || this.verify_chunk(c)))
                .collect();
            let mut out = Vec::with_capacity(items.len());
            for h in handles {
                match h.join() {
                    Ok(v) => out.extend(v),
                    Err(_) => {
                        return Err(TrusteeError::Protocol("a verifier thread failed".into()))
                    }
                }
            }
            Ok(out)
        })?;
        for (item, verdict) in items.iter().zip(verdicts) {
            if let Some(why) = verdict {
                self.invalid.push((item.index, why));
                continue;
            }
            let weight = self.weights.get(&item.author.0).copied().unwrap_or(0);
            let cts: Vec<&Ciphertext> = item
                .ballot
                .contests
                .iter()
                .flat_map(|c| c.ciphertexts.iter())
                .collect();
            if let Some(old) = self.last.get(&item.author.0) {
                for (sum, bytes) in self.sums.iter_mut().zip(old) {
                    let mut r = [0u8; 32];
                    let mut c = [0u8; 32];
                    r.copy_from_slice(&bytes[..32]);
                    c.copy_from_slice(&bytes[32..]);
                    let ct = Ciphertext {
                        R: Point::from_bytes("tally", r)?,
                        C: Point::from_bytes("tally", c)?,
                    };
                    sum.sub(&ct, weight);
                }
            }
            let mut compressed = Vec::with_capacity(cts.len());
            for (sum, ct) in self.sums.iter_mut().zip(&cts) {
                sum.add(ct, weight);
                let mut b = [0u8; 64];
                b[..32].copy_from_slice(ct.R.as_bytes());
                b[32..].copy_from_slice(ct.C.as_bytes());
                compressed.push(b);
            }
            self.last.insert(item.author.0, compressed);
        }
        Ok(())
    }

    /// The tally.
    pub fn finish(self) -> EncryptedTally {
        let counted_weight = self
            .last
            .keys()
            .map(|k| self.weights.get(k).copied().unwrap_or(0))
            .sum();
        EncryptedTally {
            ciphertexts: self.sums.iter().map(CiphertextSum::finish).collect(),
            counted: self.last.len() as u64,
            counted_weight,
            invalid: self.invalid,
        }
    }
}

/// The dlog bound of the tally: `Σ counted weights × max max_per_option`
/// (SPEC.md §8.4).
pub fn dlog_bound(contests: &[Contest], counted_weight: u64) -> u64 {
    let per = contests.iter().map(|c| c.max_per_option).max().unwrap_or(1);
    counted_weight.saturating_mul(per)
}

/// Combine the partial decryptions of `trustees` (at least `t`, each
/// verified against its `X_l`) into counts per contest per option.
pub fn combine_counts(
    view: &ElectionView,
    tally: &EncryptedTally,
    trustees: &[u32],
) -> Result<Vec<Vec<u64>>> {
    let joint = view
        .joint
        .as_ref()
        .ok_or_else(|| TrusteeError::Protocol("no joint key".into()))?;
    let fp = view
        .election_fp()
        .ok_or_else(|| TrusteeError::Protocol("no election fingerprint".into()))?;
    if trustees.len() < view.t() as usize {
        return Err(TrusteeError::Protocol(format!(
            "{} partial decryptions given ({}); {} are needed",
            trustees.len(),
            list(trustees),
            view.t()
        )));
    }
    let mut partials = Vec::with_capacity(trustees.len());
    for &l in trustees {
        let shares = view.partials.get(&l).ok_or_else(|| {
            TrusteeError::Protocol(format!(
                "trustee {l} has no partial decryption on the board"
            ))
        })?;
        let vk = joint
            .verification_keys
            .get((l as usize).wrapping_sub(1))
            .ok_or_else(|| TrusteeError::Protocol(format!("no trustee {l}")))?;
        verify_decryption(&fp, l, vk, &tally.ciphertexts, shares).map_err(|e| {
            TrusteeError::BoardMisbehaves(format!("trustee {l}'s partial decryption: {e}"))
        })?;
        partials.push((l, shares));
    }
    let table = DlogTable::new(dlog_bound(&view.manifest.contests, tally.counted_weight));
    let mut flat = Vec::with_capacity(tally.ciphertexts.len());
    for (k, ct) in tally.ciphertexts.iter().enumerate() {
        let ds: Vec<(u32, Point)> = partials
            .iter()
            .filter_map(|(l, s)| s.get(k).map(|d| (*l, d.D)))
            .collect();
        flat.push(table.solve(&combine(ct, &ds)?)?);
    }
    let mut it = flat.into_iter();
    Ok(view
        .manifest
        .contests
        .iter()
        .map(|c| it.by_ref().take(c.options.len()).collect())
        .collect())
}
