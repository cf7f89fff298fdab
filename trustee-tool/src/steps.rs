//! The trustee's commands (SPEC.md §8.5): each reads the log through the
//! election state machine ([`crate::view`]), works out from its state what
//! this trustee has already posted, saves its new stage to the key file,
//! and only then posts. Running a step again is always safe: it posts only
//! what is missing, and says what it is waiting for.

use std::time::{Duration, Instant};

use psephos_crypto::election::Phase;
use psephos_crypto::record::Post;
use psephos_crypto::threshold::verify_decryption;
use rand_core::OsRng;

use crate::board::BoardClient;
use crate::ceremony::{list, SharesChecked};
use crate::error::{Result, TrusteeError};
use crate::log_memory;
use crate::state::{Stage, TrusteeKeyFile};
use crate::tally::EncryptedTally;
use crate::view::{fetch_ceremony_view, fetch_view, ElectionView, Reading};

/// How a step ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The step is complete; what was done.
    Done(String),
    /// The step cannot finish until others act.
    Waiting {
        /// What was done meanwhile, if anything.
        progress: Option<String>,
        /// What it waits for, e.g. `dkg_commit from trustees 2, 5`.
        waiting_for: String,
    },
}

impl Outcome {
    fn waiting(waiting_for: impl Into<String>) -> Self {
        Outcome::Waiting {
            progress: None,
            waiting_for: waiting_for.into(),
        }
    }

    /// Whether the step is complete.
    pub fn is_done(&self) -> bool {
        matches!(self, Outcome::Done(_))
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Done(m) => f.write_str(m),
            Outcome::Waiting {
                progress: Some(p),
                waiting_for,
            } => write!(f, "{p}\nwaiting for {waiting_for}"),
            Outcome::Waiting {
                progress: None,
                waiting_for,
            } => write!(f, "waiting for {waiting_for}"),
        }
    }
}

/// `"trustee 2"`, `"trustees 2, 5"`.
pub fn trustees(items: &[u32]) -> String {
    match items {
        [one] => format!("trustee {one}"),
        _ => format!("trustees {}", list(items)),
    }
}

/// Run `step` until it is done, polling every `poll`, for at most
/// `timeout`; `on_wait` hears each waiting message.
pub fn wait_for(
    timeout: Duration,
    poll: Duration,
    mut step: impl FnMut() -> Result<Outcome>,
    mut on_wait: impl FnMut(&Outcome),
) -> Result<Outcome> {
    let start = Instant::now();
    loop {
        let outcome = step()?;
        let Outcome::Waiting { waiting_for, .. } = &outcome else {
            return Ok(outcome);
        };
        if start.elapsed() + poll > timeout {
            return Err(TrusteeError::Timeout {
                seconds: start.elapsed().as_secs(),
                waiting: waiting_for.clone(),
            });
        }
        on_wait(&outcome);
        std::thread::sleep(poll);
    }
}

fn post<B: BoardClient>(board: &B, election: &str, post: &Post) -> Result<u64> {
    Ok(board.post(election, post)?.index)
}

/// The stage for `election`, or a fresh enrolment (SPEC.md §8.5.1).
fn current_stage(file: &TrusteeKeyFile, view: &ElectionView) -> Result<Stage> {
    match file.stage(view.id())? {
        Some(stage) => {
            stage.enrolled().check_view(view)?;
            Ok(stage)
        }
        None => Ok(Stage::Enrolled(crate::ceremony::Enrolled::find(
            file.keys(),
            view,
        )?)),
    }
}

fn my_registration_ok(file: &TrusteeKeyFile, view: &ElectionView, l: u32) -> Result<bool> {
    match view.ceremony().registrations.get(&l) {
        None => Ok(false),
        Some(y) if y == file.keys().encryption_public().as_point() => Ok(true),
        Some(_) => Err(TrusteeError::Protocol(format!(
            "trustee {l} is registered with another encryption key: this is not the key file \
             that registered (restore the right one)"
        ))),
    }
}

/// `register`: post `trustee_registration` (SPEC.md §8.5.1).
pub fn register<B: BoardClient>(
    board: &B,
    file: &mut TrusteeKeyFile,
    election: &str,
) -> Result<Outcome> {
    let view = fetch_ceremony_view(board, election)?;
    let stage = current_stage(file, &view)?;
    let l = stage.enrolled().index();
    if file.stage(election)?.is_none() {
        file.save_stage(&stage)?;
    }
    if my_registration_ok(file, &view, l)? {
        return Ok(Outcome::Done(format!(
            "trustee {l} of election {election:?} is already registered"
        )));
    }
    if !view.ceremony().commits.is_empty() || view.joint().is_some() {
        return Err(TrusteeError::Protocol(
            "the key ceremony has moved past registration".into(),
        ));
    }
    let index = post(
        board,
        election,
        &stage.enrolled().registration(file.keys())?,
    )?;
    Ok(Outcome::Done(format!(
        "registered as trustee {l} of election {election:?} (entry {index})"
    )))
}

/// `round1`: deal, commit, and reveal once every commit is on the board
/// (SPEC.md §8.5.2).
pub fn round1<B: BoardClient>(
    board: &B,
    file: &mut TrusteeKeyFile,
    election: &str,
) -> Result<Outcome> {
    let view = fetch_ceremony_view(board, election)?;
    let stage = current_stage(file, &view)?;
    let l = stage.enrolled().index();
    if !my_registration_ok(file, &view, l)? {
        return Err(TrusteeError::Protocol(format!(
            "trustee {l} is not registered yet: run `register` first"
        )));
    }
    let dealt = match stage {
        Stage::Checking(_) | Stage::Holding(_) => {
            return Ok(Outcome::Done(format!("trustee {l} has finished round 1")))
        }
        Stage::Dealt(d) => d,
        Stage::Enrolled(e) => {
            let c = view.ceremony();
            if let Some(at) = c.commits_closed.filter(|_| !c.commits.contains_key(&l)) {
                return Err(closed_without(l, at));
            }
            if view.joint().is_some() || c.commits.contains_key(&l) {
                return Err(TrusteeError::Protocol(format!(
                    "round 1 is over for trustee {l} without a dealing from this key file; \
                     run `round2` and `ack` to receive a key share anyway"
                )));
            }
            let missing = view.missing(&c.registrations);
            if !missing.is_empty() {
                return Ok(Outcome::waiting(format!(
                    "trustee_registration from {}",
                    trustees(&missing)
                )));
            }
            let dealt = e.deal(file.keys(), &view, &mut OsRng)?;
            file.save_stage(&dealt)?;
            dealt
        }
    };
    let mut progress = Vec::new();
    let view = match view.ceremony().commits.get(&l) {
        Some(hash) if *hash != dealt.hash() => {
            return Err(TrusteeError::Protocol(format!(
                "trustee {l}'s dkg_commit on the board is not for this key file's round-1 message"
            )))
        }
        Some(_) => view,
        None => {
            if let Some(at) = view.ceremony().commits_closed {
                return Err(closed_without(l, at));
            }
            if view.joint().is_some() {
                return Err(TrusteeError::Protocol(
                    "the ceremony was finalized without this trustee's round 1".into(),
                ));
            }
            let index = post(board, election, &dealt.commit(file.keys())?)?;
            progress.push(format!("posted dkg_commit (entry {index})"));
            fetch_ceremony_view(board, election)?
        }
    };
    if view.ceremony().revealed.contains_key(&l) {
        return Ok(Outcome::Done(format!(
            "trustee {l} has committed and revealed round 1; next: `round2`"
        )));
    }
    // A reveal of this trustee's that does not count was let onto the log
    // by the board (SPEC.md §8.5.2: e.g. before every commit, so the other
    // dealers could have seen it before choosing theirs). Revealing again
    // would not undo that: stop and say so.
    if let Some(why) = view.rejected_reveals.get(&l) {
        return Err(TrusteeError::BoardMisbehaves(format!(
            "the board holds a reveal of trustee {l} that does not count: {why}"
        )));
    }
    if view.joint().is_some() {
        return Err(TrusteeError::Protocol(format!(
            "the ceremony was finalized before trustee {l} revealed; its dealing does not count. \
             Run `round2` and `ack` to receive a key share anyway"
        )));
    }
    let missing = view.missing(&view.ceremony().commits);
    if !missing.is_empty() && view.ceremony().commits_closed.is_none() {
        return Ok(Outcome::Waiting {
            progress: (!progress.is_empty()).then(|| progress.join("; ")),
            waiting_for: format!(
                "dkg_commit from {} (or the administrator's close-commits, which goes on \
                 without them)",
                trustees(&missing)
            ),
        });
    }
    let index = post(board, election, &dealt.reveal(file.keys())?)?;
    progress.push(format!("revealed dkg_commitments (entry {index})"));
    Ok(Outcome::Done(format!(
        "{}; next: `round2`",
        progress.join("; ")
    )))
}

/// Round 1 was cut off (SPEC.md §8.5.2) before trustee `l` committed.
fn closed_without(l: u32, at: u64) -> TrusteeError {
    TrusteeError::Protocol(format!(
        "round-1 commits were closed without trustee {l} (dkg_commits_closed, entry {at}); its \
         dealing does not count. Run `round2` and `ack` to receive a key share anyway"
    ))
}

/// The round-2 state for this trustee, starting round 2 if needed.
/// `Err` with an outcome when the step cannot start.
fn into_checking(
    stage: Stage,
    view: &ElectionView,
) -> Result<std::result::Result<SharesChecked, Outcome>> {
    let l = stage.enrolled().index();
    Ok(Ok(match stage {
        Stage::Holding(_) => {
            return Ok(Err(Outcome::Done(format!(
                "trustee {l} holds its key share; the ceremony is finished"
            ))))
        }
        Stage::Checking(c) => c,
        Stage::Dealt(d) => {
            let c = view.ceremony();
            let cut_off = c.commits_closed.is_some() && !c.commits.contains_key(&l);
            let own_done =
                c.revealed.contains_key(&l) || view.rejected_reveals.contains_key(&l) || cut_off;
            if !own_done && view.joint().is_none() {
                return Err(TrusteeError::Protocol(format!(
                    "trustee {l} has not revealed its round-1 message yet: run `round1` first"
                )));
            }
            d.into_checking(view)
        }
        Stage::Enrolled(e) => {
            let c = view.ceremony();
            if view.joint().is_none() && c.commits_closed.is_none() && !c.commits.contains_key(&l) {
                return Err(TrusteeError::Protocol(format!(
                    "trustee {l} has not taken part in round 1: run `round1` first"
                )));
            }
            e.into_checking()
        }
    }))
}

/// `round2`: check every revealed dealer's share, complain about bad ones
/// (SPEC.md §8.5.3).
pub fn round2<B: BoardClient>(
    board: &B,
    file: &mut TrusteeKeyFile,
    election: &str,
) -> Result<Outcome> {
    let view = fetch_ceremony_view(board, election)?;
    let stage = current_stage(file, &view)?;
    let l = stage.enrolled().index();
    let mut checking = match into_checking(stage, &view)? {
        Ok(c) => c,
        Err(outcome) => return Ok(outcome),
    };
    let drafts = checking.check_new(file.keys(), &view);
    let mut progress = Vec::new();
    for d in &drafts {
        progress.push(format!("dealer {}'s share is bad: {}", d.dealer, d.why));
    }
    file.save_stage(&checking)?;
    let complained: Vec<u32> = view
        .ceremony()
        .complaints
        .iter()
        .filter(|c| c.trustee == l)
        .map(|c| c.dealer)
        .collect();
    if view.joint().is_none() {
        for dealer in checking.accused() {
            if !complained.contains(&dealer) {
                let post_ = checking.complaint(file.keys(), &view, dealer, &mut OsRng)?;
                let index = post(board, election, &post_)?;
                progress.push(format!(
                    "posted dkg_complaint against dealer {dealer} (entry {index})"
                ));
            }
        }
    }
    progress.push(format!(
        "good shares from dealers {}; accused: {}",
        list(&checking.good()),
        list(&checking.accused())
    ));
    let not_revealed: Vec<u32> = view
        .round1_dealers()
        .into_iter()
        .filter(|i| {
            !view.ceremony().revealed.contains_key(i) && !view.rejected_reveals.contains_key(i)
        })
        .collect();
    if view.joint().is_none() && !not_revealed.is_empty() {
        return Ok(Outcome::Waiting {
            progress: Some(progress.join("\n")),
            waiting_for: format!(
                "dkg_commitments from {} (or the administrator's finalize-keys, which \
                 disqualifies dealers that have not revealed)",
                trustees(&not_revealed)
            ),
        });
    }
    progress.push(if view.joint().is_none() {
        "round 2 done; next: the administrator's finalize-keys, then `ack`".into()
    } else {
        "round 2 done; next: `ack`".into()
    });
    Ok(Outcome::Done(progress.join("\n")))
}

/// `ack`: take the `joint_key` that counts (the state machine recomputed
/// it from the log), derive and check `x_l`, post `key_ack` (SPEC.md
/// §8.5.4).
pub fn ack<B: BoardClient>(
    board: &B,
    file: &mut TrusteeKeyFile,
    election: &str,
) -> Result<Outcome> {
    let view = fetch_ceremony_view(board, election)?;
    let stage = current_stage(file, &view)?;
    let l = stage.enrolled().index();
    let holder = match stage {
        Stage::Holding(h) => h,
        other => {
            if view.joint().is_none() {
                return Ok(Outcome::waiting(
                    "joint_key (the administrator's finalize-keys, once every trustee has run round 2)",
                ));
            }
            let mut checking = match into_checking(other, &view)? {
                Ok(c) => c,
                Err(outcome) => return Ok(outcome),
            };
            checking.check_new(file.keys(), &view);
            file.save_stage(&checking)?;
            let holder = checking.finish(&view)?;
            file.save_stage(&holder)?;
            holder
        }
    };
    let joint = view.joint().ok_or_else(|| {
        TrusteeError::BoardMisbehaves(
            "this trustee holds a key share, but no joint_key on the log counts".into(),
        )
    })?;
    if joint.pk != *holder.public_key() {
        return Err(TrusteeError::BoardMisbehaves(
            "the board's joint key is not the one this trustee acknowledged".into(),
        ));
    }
    let what = format!(
        "trustee {l}: PK = {}, X_{l} = {}, qualified dealers {}",
        holder.public_key().as_point().to_hex(),
        holder.verification_key().to_hex(),
        list(holder.qualified())
    );
    if view.ceremony().acks.contains(&l) {
        return Ok(Outcome::Done(format!("{what}; already acknowledged")));
    }
    if view.election().phase() >= Phase::Open {
        // SPEC.md §10.3 rule 6: no key_ack once voting has opened. The key
        // share is held all the same, and decrypts.
        return Ok(Outcome::Done(format!(
            "{what}; voting has opened, so key_ack is no longer accepted (this trustee can still decrypt)"
        )));
    }
    let index = post(board, election, &holder.ack(file.keys())?)?;
    Ok(Outcome::Done(format!(
        "{what}; posted key_ack (entry {index})"
    )))
}

/// Read the whole log, every ballot verified, and take the tally the
/// state machine fixed at `voting_closed` (SPEC.md §8.5.5, §10.5); `None`
/// before voting closed.
pub fn recompute_tally<B: BoardClient>(
    board: &B,
    election: &str,
) -> Result<(ElectionView, Option<EncryptedTally>)> {
    let view = fetch_view(board, election, Reading::Everything)?;
    let tally = EncryptedTally::of(&view);
    Ok((view, tally))
}

/// `decrypt`: recompute the tally of a closed election and post this
/// trustee's partial decryption with its proofs (SPEC.md §8.4, §8.5.5).
///
/// Before anything, the log served is checked against what the key file
/// remembers (SPEC.md §14.2, [`crate::log_memory`]): a fork, a rewritten
/// log or a rollback stops the step with evidence and no post. Before
/// posting: the tally must be the one this key file decrypted before, if
/// any; a board-signed checkpoint must cover `voting_closed`, cosigned by
/// `witness_quorum` manifest witnesses (§14.1); and the tally must count
/// at least `min_counted` credentials (§10.5).
pub fn decrypt<B: BoardClient>(
    board: &B,
    file: &mut TrusteeKeyFile,
    election: &str,
) -> Result<Outcome> {
    let log = log_memory::fetch_checked(board, file, election)?;
    let view = &log.view;
    let tally = EncryptedTally::of(view);
    let stage = current_stage(file, view)?;
    let l = stage.enrolled().index();
    let Stage::Holding(holder) = stage else {
        return Err(TrusteeError::Protocol(format!(
            "trustee {l} holds no key share yet ({}): finish the ceremony with `ack` first",
            stage.name()
        )));
    };
    if file.checkpoint(election).is_none() {
        file.remember_checkpoint(election, &log.note)?;
    }
    let state = view.election();
    let tally_sha = tally
        .as_ref()
        .map(|t| log_memory::tally_hash(&t.ciphertexts));
    if let (Some(held), Some(served)) = (file.decrypted_tally(election), &tally_sha) {
        if held != served {
            return Err(TrusteeError::TallyChanged {
                held: held.to_owned(),
                served: served.clone(),
            });
        }
    }
    if state.partials().iter().any(|(k, _)| *k == l) {
        return Ok(Outcome::Done(format!(
            "trustee {l} has already posted its partial decryption"
        )));
    }
    let (Some(tally), Some(tally_sha)) = (tally, tally_sha) else {
        let now = if state.opened_at().is_some() {
            format!("voting is open, {} ballots so far", state.votes().ballots())
        } else {
            "voting has not opened".to_owned()
        };
        return Ok(Outcome::waiting(format!("voting_closed ({now})")));
    };
    if state.published().is_some() {
        return Ok(Outcome::Done(format!(
            "the result is already on the log; trustee {l}'s partial decryption is not needed"
        )));
    }
    let joint = view
        .joint()
        .ok_or_else(|| TrusteeError::BoardMisbehaves("closed without a joint key".into()))?;
    if joint.pk != *holder.public_key() {
        return Err(TrusteeError::BoardMisbehaves(
            "the board's joint key is not the one this trustee holds a share of".into(),
        ));
    }
    if state.check_min_counted().is_err() {
        return Err(TrusteeError::TooFewCounted {
            counted: tally.counted,
            min: view.manifest().min_counted(),
        });
    }
    // SPEC.md §14.2: the tally decrypted is fixed by a checkpoint the board
    // signed over voting_closed, seen by k witnesses.
    let closed = state.closed_at().unwrap_or(0);
    if log.checkpoint.size <= closed {
        return Ok(Outcome::waiting(format!(
            "a board-signed checkpoint covering voting_closed (entry {closed}); the board's \
             latest covers {} entries",
            log.checkpoint.size
        )));
    }
    if let Some(waiting) = log_memory::witnessed(&log, file.path(), election, closed + 1)? {
        return Ok(Outcome::waiting(waiting));
    }
    if file.decrypted_tally(election).is_none() {
        file.remember_tally(election, &tally_sha)?;
    }
    let post_ = holder.partial_decryption(file.keys(), &tally.ciphertexts, &mut OsRng)?;
    if let Ok(body) = post_.open() {
        if let psephos_crypto::record::Payload::PartialDecryption { shares, .. } = &body.payload {
            verify_decryption(
                &holder.fingerprint(),
                l,
                holder.verification_key(),
                &tally.ciphertexts,
                shares,
            )?;
        }
    }
    let index = post(board, election, &post_)?;
    let mut msg = format!(
        "trustee {l}: partial decryption of {} tally ciphertexts over {} counted ballots posted (entry {index})",
        tally.ciphertexts.len(),
        tally.counted
    );
    if !tally.rejected.is_empty() {
        msg.push_str(&format!(
            "\nWARNING: {} ballot entries were not counted because they break a rule; \
             an honest board never accepts them:",
            tally.rejected.len()
        ));
        for r in &tally.rejected {
            msg.push_str(&format!("\n  {r}"));
        }
    }
    Ok(Outcome::Done(msg))
}

/// `status`: what the log says, read whole through the state machine,
/// and (with a key file) this trustee's stage and next step.
pub fn status<B: BoardClient>(
    board: &B,
    election: &str,
    file: Option<&TrusteeKeyFile>,
) -> Result<String> {
    let status = board.status(election)?;
    let view = fetch_view(board, election, Reading::Everything)?;
    let state = view.election();
    let c = view.ceremony();
    let mut out = Vec::new();
    out.push(format!(
        "election {election:?} ({}): state {} (the board says {}), {} entries",
        view.manifest().title,
        state.phase().as_str(),
        status.state,
        view.size
    ));
    out.push(format!(
        "trustees n = {}, threshold t = {}",
        view.n(),
        view.t()
    ));
    let keys = |m: Vec<u32>| list(&m);
    out.push(format!(
        "registered: {} (missing {})",
        keys(c.registrations.keys().copied().collect()),
        list(&view.missing(&c.registrations))
    ));
    out.push(format!(
        "committed:  {} (missing {})",
        keys(c.commits.keys().copied().collect()),
        list(&view.missing(&c.commits))
    ));
    if let Some(at) = c.commits_closed {
        out.push(format!(
            "commits closed by the administrator at entry {at}: dealers are {}",
            list(&view.round1_dealers())
        ));
    }
    out.push(format!(
        "revealed:   {} (missing {})",
        keys(c.revealed.keys().copied().collect()),
        list(
            &view
                .round1_dealers()
                .into_iter()
                .filter(|i| !c.revealed.contains_key(i))
                .collect::<Vec<_>>()
        )
    ));
    for k in &c.complaints {
        out.push(format!(
            "complaint:  trustee {} against dealer {} ({})",
            k.trustee,
            k.dealer,
            if k.founded {
                "founded: the dealer is disqualified"
            } else {
                "unfounded: the share was good"
            }
        ));
    }
    match view.joint() {
        Some(j) => out.push(format!(
            "joint key:  {} (qualified {})",
            j.pk.as_point().to_hex(),
            list(&j.qualified)
        )),
        None => out.push("joint key:  not yet".into()),
    }
    out.push(format!(
        "acks:       {}",
        keys(c.acks.iter().copied().collect())
    ));
    let votes = state.votes();
    out.push(format!(
        "credentials: {}; voting: {}; ballots: {} ({} credentials counted, weight {})",
        view.credential_list
            .as_ref()
            .map_or("not posted".to_owned(), |c| format!("{} listed", c.count)),
        match (state.opened_at(), state.closed_at()) {
            (None, _) => "not opened",
            (Some(_), None) => "open",
            (Some(_), Some(_)) => "closed",
        },
        votes.ballots(),
        votes.counted_credentials(),
        votes.counted_weight()
    ));
    out.push(format!(
        "partial decryptions: {}",
        keys(state.partials().iter().map(|(l, _)| *l).collect())
    ));
    if let Some(r) = state.published() {
        out.push(format!(
            "result: {:?} (trustees {})",
            r.counts,
            list(&r.trustees)
        ));
    }
    if !status.waiting_for.is_empty() {
        out.push(format!("the board is waiting for: {}", status.waiting_for));
    }
    for w in &view.warnings {
        out.push(format!("WARNING: {w}"));
    }
    if let Some(file) = file {
        match file.stage(election)? {
            Some(stage) => out.push(format!(
                "this key file: trustee {}, {}",
                stage.enrolled().index(),
                stage.name()
            )),
            None => match view.trustee_index(&file.keys().author()) {
                Some(l) => out.push(format!("this key file: trustee {l}, not registered yet")),
                None => out.push("this key file is not a trustee of this election".into()),
            },
        }
    }
    Ok(out.join("\n"))
}
