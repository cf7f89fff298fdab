//! What a trustee's key file holds (SPEC.md §8.5.6): its two long-term
//! keys and, per election, the ceremony stage reached. Each stage is saved
//! *before* the post it leads to, so a crash between the two is resumed by
//! posting again what the file already holds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use psephos_crypto::elgamal::{PublicKey, SecretKey};
use psephos_crypto::encoding::{hex32, Scalar};
use psephos_crypto::log::merkle::Hash;
use psephos_crypto::threshold::Polynomial;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::ceremony::{Dealt, Enrolled, KeyHolder, SharesChecked, TrusteeKeys};
use crate::error::{Result, TrusteeError};
use crate::keyfile::{self, Passphrase, Secret32, WorkFactor, FORMAT};

/// The `kind` of a trustee key file.
pub const TRUSTEE_KIND: &str = "trustee";

/// A trustee's stage in one election's ceremony.
// One short-lived value per step: boxing the larger variants would buy
// nothing but indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Stage {
    /// Registered (or about to).
    Enrolled(Enrolled),
    /// Round 1 made; commit and reveal pending or posted.
    Dealt(Dealt),
    /// Round 2 in progress.
    Checking(SharesChecked),
    /// `x_l` held.
    Holding(KeyHolder),
}

/// A borrowed stage, to save without giving up the typed value.
#[derive(Clone, Copy, Debug)]
pub enum StageRef<'a> {
    /// See [`Stage::Enrolled`].
    Enrolled(&'a Enrolled),
    /// See [`Stage::Dealt`].
    Dealt(&'a Dealt),
    /// See [`Stage::Checking`].
    Checking(&'a SharesChecked),
    /// See [`Stage::Holding`].
    Holding(&'a KeyHolder),
}

impl<'a> From<&'a Enrolled> for StageRef<'a> {
    fn from(v: &'a Enrolled) -> Self {
        StageRef::Enrolled(v)
    }
}
impl<'a> From<&'a Dealt> for StageRef<'a> {
    fn from(v: &'a Dealt) -> Self {
        StageRef::Dealt(v)
    }
}
impl<'a> From<&'a SharesChecked> for StageRef<'a> {
    fn from(v: &'a SharesChecked) -> Self {
        StageRef::Checking(v)
    }
}
impl<'a> From<&'a KeyHolder> for StageRef<'a> {
    fn from(v: &'a KeyHolder) -> Self {
        StageRef::Holding(v)
    }
}
impl<'a> From<&'a Stage> for StageRef<'a> {
    fn from(v: &'a Stage) -> Self {
        match v {
            Stage::Enrolled(e) => StageRef::Enrolled(e),
            Stage::Dealt(d) => StageRef::Dealt(d),
            Stage::Checking(c) => StageRef::Checking(c),
            Stage::Holding(h) => StageRef::Holding(h),
        }
    }
}

impl StageRef<'_> {
    fn enrolled(&self) -> &Enrolled {
        match self {
            StageRef::Enrolled(e) => e,
            StageRef::Dealt(d) => d.enrolled(),
            StageRef::Checking(c) => c.enrolled(),
            StageRef::Holding(h) => h.enrolled(),
        }
    }
}

impl Stage {
    /// The enrolment behind any stage.
    pub fn enrolled(&self) -> &Enrolled {
        match self {
            Stage::Enrolled(e) => e,
            Stage::Dealt(d) => d.enrolled(),
            Stage::Checking(c) => c.enrolled(),
            Stage::Holding(h) => h.enrolled(),
        }
    }

    /// A short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Stage::Enrolled(_) => "registered",
            Stage::Dealt(_) => "round 1 dealt",
            Stage::Checking(_) => "round 2 (checking shares)",
            Stage::Holding(_) => "holding a key share",
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredShare {
    dealer: u32,
    share: Secret32,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case", deny_unknown_fields)]
enum StoredStage {
    Enrolled,
    Dealt {
        coefficients: Vec<Secret32>,
        body: String,
    },
    Checking {
        checked: Vec<StoredShare>,
        accused: Vec<u32>,
    },
    Holding {
        key_share: Secret32,
        public_key: PublicKey,
        qualified: Vec<u32>,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredElection {
    index: u32,
    #[serde(with = "hex32")]
    manifest_hash: Hash,
    stage: StoredStage,
    /// SPEC.md §8.5.6, §14.2: the largest board-signed checkpoint note of
    /// this election's log this trustee has checked against the entries
    /// it read. Absent in key files written before §14.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checkpoint: Option<String>,
    /// SPEC.md §8.5.6, §14.2: SHA-256 of the tally this trustee decrypted
    /// ([`crate::log_memory::tally_hash`]), hex. Absent in key files
    /// written before §14.2 or before `decrypt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    decrypted_tally: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrusteeFile {
    format: String,
    kind: String,
    signing_key: Secret32,
    encryption_key: Secret32,
    #[serde(default)]
    elections: BTreeMap<String, StoredElection>,
}

fn scalar(s: &Secret32) -> Result<Scalar> {
    Ok(Scalar::from_bytes("key file scalar", s.0)?)
}

fn store(stage: StageRef<'_>) -> StoredElection {
    let e = stage.enrolled();
    let stored = match stage {
        StageRef::Enrolled(_) => StoredStage::Enrolled,
        StageRef::Dealt(d) => StoredStage::Dealt {
            coefficients: d
                .polynomial()
                .coefficients()
                .iter()
                .map(|c| Secret32(c.to_bytes()))
                .collect(),
            body: d.body().to_owned(),
        },
        StageRef::Checking(c) => StoredStage::Checking {
            checked: c
                .checked()
                .iter()
                .map(|(dealer, s)| StoredShare {
                    dealer: *dealer,
                    share: Secret32(s.to_bytes()),
                })
                .collect(),
            accused: c.accused(),
        },
        StageRef::Holding(h) => StoredStage::Holding {
            key_share: Secret32(h.share().to_scalar().to_bytes()),
            public_key: *h.public_key(),
            qualified: h.qualified().to_vec(),
        },
    };
    StoredElection {
        index: e.index(),
        manifest_hash: *e.manifest_hash(),
        stage: stored,
        checkpoint: None,
        decrypted_tally: None,
    }
}

fn restore(election: &str, stored: &StoredElection) -> Result<Stage> {
    let enrolled = Enrolled::restore(election.to_owned(), stored.index, stored.manifest_hash);
    Ok(match &stored.stage {
        StoredStage::Enrolled => Stage::Enrolled(enrolled),
        StoredStage::Dealt { coefficients, body } => {
            let coefficients = coefficients
                .iter()
                .map(scalar)
                .collect::<Result<Vec<_>>>()?;
            Stage::Dealt(Dealt::restore(
                enrolled,
                Polynomial::from_coefficients(coefficients)?,
                body.clone(),
            ))
        }
        StoredStage::Checking { checked, accused } => {
            let mut map = BTreeMap::new();
            for s in checked {
                map.insert(s.dealer, scalar(&s.share)?);
            }
            Stage::Checking(SharesChecked::restore(
                enrolled,
                map,
                accused.iter().copied().collect::<BTreeSet<u32>>(),
            ))
        }
        StoredStage::Holding {
            key_share,
            public_key,
            qualified,
        } => Stage::Holding(KeyHolder::restore(
            enrolled,
            scalar(key_share)?,
            *public_key,
            qualified.clone(),
        )),
    })
}

/// An open trustee key file.
pub struct TrusteeKeyFile {
    path: PathBuf,
    passphrase: Passphrase,
    work: WorkFactor,
    keys: TrusteeKeys,
    elections: BTreeMap<String, StoredElection>,
}

impl std::fmt::Debug for TrusteeKeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TrusteeKeyFile({}, {:?}, elections {:?})",
            self.path.display(),
            self.keys,
            self.elections.keys().collect::<Vec<_>>()
        )
    }
}

impl TrusteeKeyFile {
    /// `keygen`: make fresh keys and write a new key file (refuses to
    /// overwrite one).
    pub fn create<R: RngCore + CryptoRng>(
        path: &Path,
        passphrase: Passphrase,
        work: WorkFactor,
        rng: &mut R,
    ) -> Result<Self> {
        let file = TrusteeKeyFile {
            path: path.to_owned(),
            passphrase,
            work,
            keys: TrusteeKeys::generate(rng),
            elections: BTreeMap::new(),
        };
        file.write(true)?;
        Ok(file)
    }

    /// Open and decrypt an existing key file.
    pub fn open(path: &Path, passphrase: Passphrase, work: WorkFactor) -> Result<Self> {
        let plain = keyfile::read_plaintext(path, &passphrase)?;
        let file: TrusteeFile = keyfile::parse(path, &plain, TRUSTEE_KIND)?;
        let bad = |why: String| TrusteeError::KeyFile {
            path: path.to_owned(),
            why,
        };
        let signing = SigningKey::from_bytes(&file.signing_key.0);
        let y = scalar(&file.encryption_key).map_err(|e| bad(e.to_string()))?;
        let encryption = SecretKey::from_scalar(*y.inner()).map_err(|e| bad(e.to_string()))?;
        let keys = TrusteeKeys::from_parts(signing, encryption);
        for (id, e) in &file.elections {
            restore(id, e).map_err(|err| bad(format!("election {id:?}: {err}")))?;
        }
        let TrusteeFile { elections, .. } = file;
        Ok(TrusteeKeyFile {
            path: path.to_owned(),
            passphrase,
            work,
            keys,
            elections,
        })
    }

    fn write(&self, create: bool) -> Result<()> {
        // Serialize with the stored elections borrowed, not cloned.
        #[derive(Serialize)]
        struct Out<'a> {
            format: &'a str,
            kind: &'a str,
            signing_key: Secret32,
            encryption_key: Secret32,
            elections: &'a BTreeMap<String, StoredElection>,
        }
        let plain = keyfile::to_plaintext(&Out {
            format: FORMAT,
            kind: TRUSTEE_KIND,
            signing_key: Secret32(self.keys.signing().to_bytes()),
            encryption_key: Secret32(self.keys.encryption().expose().to_bytes()),
            elections: &self.elections,
        })?;
        keyfile::write_plaintext(&self.path, &self.passphrase, self.work, &plain, create)
    }

    /// The key file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The trustee's keys.
    pub fn keys(&self) -> &TrusteeKeys {
        &self.keys
    }

    /// The stage reached in `election`, if any.
    pub fn stage(&self, election: &str) -> Result<Option<Stage>> {
        self.elections
            .get(election)
            .map(|e| restore(election, e))
            .transpose()
    }

    /// Record a new stage and save the file atomically.
    pub fn save_stage<'a>(&mut self, stage: impl Into<StageRef<'a>>) -> Result<()> {
        let stage = stage.into();
        let id = stage.enrolled().election().to_owned();
        let mut new = store(stage);
        if let Some(old) = self.elections.get(&id) {
            new.checkpoint.clone_from(&old.checkpoint);
            new.decrypted_tally.clone_from(&old.decrypted_tally);
        }
        let old = self.elections.insert(id.clone(), new);
        if let Err(e) = self.write(false) {
            match old {
                Some(o) => self.elections.insert(id, o),
                None => self.elections.remove(&id),
            };
            return Err(e);
        }
        Ok(())
    }

    /// The largest board-signed checkpoint note of `election` this trustee
    /// has checked (SPEC.md §14.2), if any.
    pub fn checkpoint(&self, election: &str) -> Option<&str> {
        self.elections.get(election)?.checkpoint.as_deref()
    }

    /// SHA-256 (hex) of the tally this trustee decrypted in `election`
    /// (SPEC.md §14.2), if any.
    pub fn decrypted_tally(&self, election: &str) -> Option<&str> {
        self.elections.get(election)?.decrypted_tally.as_deref()
    }

    /// Remember `note` as the largest checkpoint seen and save the file
    /// (SPEC.md §14.2). The election must have a stage already.
    pub fn remember_checkpoint(&mut self, election: &str, note: &str) -> Result<()> {
        self.remember(election, |e| e.checkpoint = Some(note.to_owned()))
    }

    /// Remember the hash of the tally decrypted and save the file
    /// (SPEC.md §14.2).
    pub fn remember_tally(&mut self, election: &str, sha256_hex: &str) -> Result<()> {
        self.remember(election, |e| {
            e.decrypted_tally = Some(sha256_hex.to_owned())
        })
    }

    fn remember(&mut self, election: &str, f: impl FnOnce(&mut StoredElection)) -> Result<()> {
        let Some(stored) = self.elections.get_mut(election) else {
            return Err(TrusteeError::Protocol(format!(
                "key file {} has no state for election {election:?}",
                self.path.display()
            )));
        };
        let old = (stored.checkpoint.clone(), stored.decrypted_tally.clone());
        f(stored);
        if let Err(e) = self.write(false) {
            if let Some(stored) = self.elections.get_mut(election) {
                (stored.checkpoint, stored.decrypted_tally) = old;
            }
            return Err(e);
        }
        Ok(())
    }
}
