//! The ballot verification stage (SPEC.md §10.4): signatures, eligibility
//! and proofs, checked in parallel and in batches before the appender.
//!
//! Ballots wait in a queue; the stage takes everything waiting (up to
//! [`MAX_VERIFY_BATCH`]) and checks it on a blocking thread, with up to one
//! batch in flight per core. All sigma-proof equations of a batch go into
//! one [`BatchVerifier`] (one multiscalar multiplication, SPEC.md §5.6); if
//! the combination fails, the verifier's bisection names the bad ballots and
//! only those are rejected. Aggregated range proofs are checked one by one.
//! What passes goes to the appender, which checks the rules that depend on
//! the log's state (open, not copied) under the election's lock.

use std::sync::{Arc, Weak};

use psephos_crypto::ballot::EncryptedBallot;
use psephos_crypto::election::voting::check_points_unused;
use psephos_crypto::record::{self, AuthorKey, Body, Payload, Post, RecordError};
use tokio::sync::{mpsc, Semaphore};

use crate::appender::{Job, Reply};
use crate::board::Board;
use crate::election::{violation_error, BallotParams, Trust};
use crate::error::BoardError;

/// Most ballots verified together.
pub const MAX_VERIFY_BATCH: usize = 256;

/// A ballot waiting for verification.
#[derive(Debug)]
pub(crate) struct Pending {
    pub election: String,
    pub post: Post,
    pub params: Arc<BallotParams>,
    pub reply: Reply,
}

/// Map a record error (signature, JSON) to its rejection.
pub fn record_error(e: RecordError) -> BoardError {
    match e {
        RecordError::BadSignature => BoardError::unauthorized(
            "bad_signature",
            "the signature does not verify under the author's key over the exact body bytes",
        ),
        RecordError::NotCanonical(why) => BoardError::bad_request(
            "non_canonical_body",
            format!("the body is not in its canonical form (SPEC.md §9.1.1): {why}"),
        ),
        RecordError::BadAuthorKey => {
            BoardError::bad_request("malformed_body", "the author is not a valid Ed25519 key")
        }
        other => BoardError::bad_request("malformed_body", other.to_string()),
    }
}

/// The verification loop.
pub(crate) async fn run(board: Weak<Board>, mut rx: mpsc::Receiver<Pending>) {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let permits = Arc::new(Semaphore::new(cores));
    while let Some(first) = rx.recv().await {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_VERIFY_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let Some(appender) = board.upgrade().map(|b| b.appender.clone()) else {
            break;
        };
        tokio::task::spawn_blocking(move || {
            let checked = verify_batch(batch);
            drop(permit);
            for job in checked {
                if let Err(mpsc::error::SendError(Job::Post { reply, .. })) =
                    appender.blocking_send(job)
                {
                    let _ = reply.send(Err(BoardError::Unavailable("shutting down".into())));
                }
            }
        });
    }
}

struct Opened {
    pending: Pending,
    body: Body,
}

/// Check a batch; answer the rejected ones, return the appender jobs of the
/// valid ones.
fn verify_batch(batch: Vec<Pending>) -> Vec<Job> {
    let mut opened: Vec<Opened> = Vec::with_capacity(batch.len());
    for p in batch {
        match open_ballot(&p) {
            Ok(body) => opened.push(Opened { pending: p, body }),
            Err(e) => {
                let _ = p.reply.send(Err(e));
            }
        }
    }
    // One batch per election (SPEC.md §5.6): its ballots share the
    // parameters their proofs are checked against.
    let mut rejected: Vec<Option<BoardError>> = (0..opened.len()).map(|_| None).collect();
    let mut groups: Vec<(Arc<BallotParams>, Vec<usize>)> = Vec::new();
    for (i, o) in opened.iter().enumerate() {
        match groups
            .iter_mut()
            .find(|(p, _)| Arc::ptr_eq(p, &o.pending.params))
        {
            Some((_, members)) => members.push(i),
            None => groups.push((Arc::clone(&o.pending.params), vec![i])),
        }
    }
    for (params, members) in groups {
        let items: Vec<(&AuthorKey, &EncryptedBallot)> = members
            .iter()
            .filter_map(|&i| match &opened[i].body.payload {
                Payload::Ballot(b) => Some((&opened[i].body.author, b)),
                _ => None,
            })
            .collect();
        for (&i, verdict) in members.iter().zip(params.verify_batch(&items)) {
            if let Err(v) = verdict {
                rejected[i] = Some(violation_error(v));
            }
        }
    }
    let mut jobs = Vec::with_capacity(opened.len());
    for (o, rejection) in opened.into_iter().zip(rejected) {
        match rejection {
            Some(e) => {
                let _ = o.pending.reply.send(Err(e));
            }
            None => jobs.push(Job::Post {
                election: o.pending.election,
                post: o.pending.post,
                body: Box::new(o.body),
                trust: Trust::ProofsChecked,
                reply: o.pending.reply,
            }),
        }
    }
    jobs
}

/// `Post::open` for a ballot (SPEC.md §9.1, §9.1.1): the crypto core's
/// direct ballot parser, canonical form and signature.
fn open_ballot_post(post: &Post) -> Result<Body, RecordError> {
    let opened = record::open_ballot(post.body_text(), &post.signature, None)?;
    Ok(Body {
        election: opened.election,
        author: opened.author,
        payload: Payload::Ballot(opened.ballot),
    })
}

/// Signature, shape and eligibility: everything before the proofs.
fn open_ballot(p: &Pending) -> Result<Body, BoardError> {
    let body = open_ballot_post(&p.post).map_err(record_error)?;
    if body.election != p.election {
        return Err(BoardError::bad_request(
            "wrong_election",
            format!("the body names election {:?}", body.election),
        ));
    }
    let Payload::Ballot(ballot) = &body.payload else {
        return Err(BoardError::bad_request(
            "malformed_body",
            "expected a ballot",
        ));
    };
    // The rules that need no log state, checked before the costly proofs;
    // the appender checks them again, with the rest, in the state machine.
    p.params.eligible(&body.author).map_err(violation_error)?;
    let cts: Vec<_> = ballot
        .contests
        .iter()
        .flat_map(|c| c.ciphertexts.iter().copied())
        .collect();
    check_points_unused(&cts, &Default::default()).map_err(violation_error)?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::SimElection;
    use rand_core::SeedableRng;

    #[test]
    fn direct_ballot_parse_agrees_with_the_general_one() {
        let mut e = SimElection::new("parse", 1, 1, 3, 1);
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3001);
        e.pk = Some(psephos_crypto::elgamal::SecretKey::random(&mut rng).public_key());
        let post = e.ballot(0, &[vec![0, 1, 0]]).unwrap();
        assert_eq!(open_ballot_post(&post).unwrap(), post.open().unwrap());
        let mut bad = post.signature.0;
        bad[0] ^= 1;
        let forged = Post {
            body: post.body.clone(),
            signature: psephos_crypto::record::SignatureHex(bad),
        };
        assert!(matches!(
            open_ballot_post(&forged),
            Err(RecordError::BadSignature)
        ));
        // An extra field is refused by both parsers.
        let text = post.body_text().replacen('{', r#"{"extra":1,"#, 1);
        let extra = Post {
            body: serde_json::value::RawValue::from_string(text).unwrap(),
            signature: post.signature,
        };
        assert!(open_ballot_post(&extra).is_err());
        assert!(extra.open().is_err());
    }
}
