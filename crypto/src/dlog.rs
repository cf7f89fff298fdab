//! Bounded discrete logarithm by baby-step giant-step (SPEC.md §4.3).
//!
//! Given `P = v·G` with `0 ≤ v ≤ bound`, find `v`. The table holds
//! `m = ⌈√(bound+1)⌉` baby steps `j·G ↦ j` keyed by their encodings; a lookup
//! walks giant steps `P − i·m·G`. Building the table for a bound of 10^7
//! costs ~3,200 compressions (~15 ms); it is reusable across all options of
//! a tally.

use std::collections::HashMap;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT as G;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar as DalekScalar;
use curve25519_dalek::traits::Identity;

use crate::error::{Error, Result};

/// A reusable baby-step table for values in `[0, bound]`.
#[derive(Debug, Clone)]
pub struct DlogTable {
    bound: u64,
    m: u64,
    baby: HashMap<[u8; 32], u64>,
    giant: RistrettoPoint,
}

impl DlogTable {
    /// Build the table for values up to `bound` inclusive.
    pub fn new(bound: u64) -> Self {
        let m = bound.saturating_add(1).isqrt().saturating_add(1);
        let mut baby = HashMap::with_capacity(m as usize);
        let mut p = RistrettoPoint::identity();
        for j in 0..m {
            baby.insert(p.compress().to_bytes(), j);
            p += G;
        }
        DlogTable {
            bound,
            m,
            baby,
            giant: G * DalekScalar::from(m),
        }
    }

    /// The largest value this table can find.
    pub fn bound(&self) -> u64 {
        self.bound
    }

    /// Find `v ∈ [0, bound]` with `target = v·G`.
    pub fn solve(&self, target: &RistrettoPoint) -> Result<u64> {
        let mut p = *target;
        let steps = self.bound / self.m + 1;
        for i in 0..=steps {
            if let Some(j) = self.baby.get(&p.compress().to_bytes()) {
                let v = i * self.m + j;
                if v <= self.bound {
                    return Ok(v);
                }
                break;
            }
            p -= self.giant;
        }
        Err(Error::DlogNotFound { bound: self.bound })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_value_in_a_small_range_and_nothing_outside() {
        let table = DlogTable::new(50);
        for v in 0..=50u64 {
            assert_eq!(table.solve(&(G * DalekScalar::from(v))).unwrap(), v);
        }
        assert!(table.solve(&(G * DalekScalar::from(51u64))).is_err());
        assert!(table.solve(&(G * DalekScalar::from(10_000u64))).is_err());
        assert!(table.solve(&(-G)).is_err());
    }

    #[test]
    fn finds_large_values_near_the_bound() {
        let table = DlogTable::new(10_000_000);
        for v in [0u64, 1, 3_162, 3_163, 9_999_999, 10_000_000] {
            assert_eq!(table.solve(&(G * DalekScalar::from(v))).unwrap(), v);
        }
    }
}
