//! The voter's texts (SPEC.md §12.2, §13.3, §13.4): credential codes, audit
//! codes and receipts, through the voter client's own entry points.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use psephos_crypto::ballot::{tracking_code, Contest, ContestOption};
use psephos_crypto::credential::{decode_credential, encode_credential, CREDENTIAL_PREFIX};
use psephos_crypto::elgamal::SecretKey;
use psephos_crypto::log::NoteVerifier;
use psephos_crypto::record::{AuthorKey, Manifest, TrusteeInfo};
use psephos_crypto::Fingerprint;
use psephos_voter::cast::{check_audit_code, AuditCode, AUDIT_PREFIX};
use psephos_voter::credential::Credential;
use psephos_voter::election::{Board, Election};
use psephos_voter::receipt::{check_consistency, Consistency, Receipt};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::log::{log_signer, FROZEN_BOARD_VKEY, LOG_NAME};
use crate::{fixed_key, text};

/// The id of the fixed election audit codes are checked against.
pub const AUDIT_ELECTION: &str = "fuzz-2026";

/// The fixed election the `audit_code` target checks codes against: a
/// plurality contest, an approval contest and a cumulative one (range
/// proofs beyond 0/1), under a joint key from a fixed seed.
pub fn audit_election() -> &'static Election {
    static ELECTION: OnceLock<Election> = OnceLock::new();
    ELECTION.get_or_init(|| {
        let contest = |id: &str, options: usize, min: u64, max: u64, per: u64| Contest {
            id: id.into(),
            title: format!("Contest {id}"),
            options: (0..options)
                .map(|i| ContestOption {
                    id: format!("{id}-{i}"),
                    label: format!("Option {i}"),
                })
                .collect(),
            min_selections: min,
            max_selections: max,
            max_per_option: per,
        };
        let trustees: Vec<TrusteeInfo> = (1..=2u32)
            .map(|i| TrusteeInfo {
                index: i,
                name: format!("Trustee {i}"),
                key: AuthorKey::of(&fixed_key(&format!("trustee-{i}"))),
            })
            .collect();
        // Through JSON, so that optional fields added to the manifest
        // later take their defaults here.
        let manifest: Manifest = serde_json::from_value(serde_json::json!({
            "title": "Fuzzing election",
            "contests": [
                contest("mayor", 3, 1, 1, 1),
                contest("council", 4, 0, 4, 1),
                contest("budget", 3, 0, 5, 3),
            ],
            "trustees": trustees,
            "threshold": 2,
            "credential_authority": AuthorKey::of(&fixed_key("authority")),
            "min_counted": 1,
        }))
        .expect("the fixed manifest");
        let mut rng = ChaCha20Rng::seed_from_u64(2026);
        let pk = SecretKey::random(&mut rng).public_key();
        let manifest_hash = [0x42; 32];
        let signer = log_signer();
        Election {
            id: AUDIT_ELECTION.into(),
            board: Board {
                origin: LOG_NAME.into(),
                verifier: signer.verifier(),
                author: AuthorKey(signer.verifier().verifying_key().to_bytes()),
            },
            fingerprint: Fingerprint::election(&manifest_hash, &pk.to_non_identity()),
            manifest,
            manifest_hash,
            pk,
            qualified: vec![1, 2],
            state: "open".into(),
            bundle_sha256: None,
        }
    })
}

/// What decoding ignores in a credential code: its optional prefix, `-`
/// and white space, letter case, and Crockford's `O`/`I`/`L`.
fn normalize_code(code: &str) -> String {
    let code = code.trim();
    let body = match code.get(..CREDENTIAL_PREFIX.len()) {
        Some(p) if p.eq_ignore_ascii_case(CREDENTIAL_PREFIX) => &code[CREDENTIAL_PREFIX.len()..],
        _ => code,
    };
    body.chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

/// `credential_code`: credential codes (SPEC.md §12.2) through
/// [`decode_credential`] and the voter's [`Credential::parse`]. Inputs
/// of 32 bytes or more also give a seed for the structured check.
///
/// * A decoded code is the encoding of its key up to what decoding
///   ignores (prefix, `-`, spaces, case, `O`/`I`/`L`), and the key
///   re-encodes and decodes to itself.
/// * The voter accepts every code the decoder accepts, as the same key;
///   anything else it accepts is 64 hex digits (white space ignored) whose
///   key is that seed.
/// * Any seed's code, also in lower case and without dashes, decodes to
///   its key.
pub fn credential_code(data: &[u8]) {
    if let Some(seed) = data.get(..32).and_then(|s| <[u8; 32]>::try_from(s).ok()) {
        let key = SigningKey::from_bytes(&seed);
        let code = encode_credential(&key);
        for variant in [
            code.to_string(),
            code.to_lowercase(),
            format!(
                "{CREDENTIAL_PREFIX}{}",
                code[CREDENTIAL_PREFIX.len()..].replace('-', "")
            ),
            format!("  {}\n", &code[CREDENTIAL_PREFIX.len()..]),
        ] {
            let back = decode_credential(&variant).expect("a code decodes");
            assert_eq!(back.to_bytes(), seed, "{variant}");
        }
        let voter = Credential::parse(&code).expect("the voter takes a code");
        assert_eq!(voter.public_key(), key.verifying_key().to_bytes());
    }
    let Some(t) = text(data) else { return };
    let decoded = decode_credential(t);
    let parsed = Credential::parse(t);
    match (&decoded, &parsed) {
        (Ok(key), Ok(voter)) => {
            assert_eq!(voter.public_key(), key.verifying_key().to_bytes());
            let code = encode_credential(key);
            assert_eq!(normalize_code(&code), normalize_code(t));
            assert_eq!(
                decode_credential(&code).map(|k| k.to_bytes()).ok(),
                Some(key.to_bytes())
            );
        }
        (Ok(_), Err(e)) => panic!("the voter refuses a code the decoder takes: {e}"),
        (Err(_), Ok(voter)) => {
            let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
            let mut seed = [0u8; 32];
            hex::decode_to_slice(&compact, &mut seed)
                .expect("a credential that is not a code is 64 hex digits");
            assert_eq!(
                voter.public_key(),
                SigningKey::from_bytes(&seed).verifying_key().to_bytes()
            );
        }
        (Err(_), Err(_)) => {}
    }
}

/// `audit_code`: audit codes (SPEC.md §13.3) through
/// [`AuditCode::decode`] and [`check_audit_code`] against the fixed
/// election ([`audit_election`]).
///
/// * A decoded code re-encodes (prefix, base64url of its JSON) to a code
///   that decodes to the same data.
/// * A code that passes the audit decodes; its report names the fixed
///   election, the tracking code of the body the code carries, and one
///   entry per contest whose values obey that contest's rules.
pub fn audit_code(data: &[u8]) {
    let Some(t) = text(data) else { return };
    let decoded = AuditCode::decode(t);
    if let Ok(d) = &decoded {
        let json = serde_json::to_string(d).expect("audit data serializes");
        let code = format!("{AUDIT_PREFIX}{}", URL_SAFE_NO_PAD.encode(&json));
        let again = AuditCode::decode(&code).expect("a re-encoded audit code decodes");
        assert_eq!(
            serde_json::to_string(&again).expect("audit data serializes"),
            json
        );
    }
    let election = audit_election();
    let Ok(report) = check_audit_code(election, t) else {
        return;
    };
    let d = decoded.expect("an audit code that passes decodes");
    assert_eq!(report.election, election.id);
    assert_eq!(d.election, election.id);
    let code = tracking_code(d.body.as_bytes());
    assert_eq!(report.tracking_code, hex::encode(code));
    assert_eq!(report.contests.len(), election.contests().len());
    for (contest, (audited, values)) in election
        .contests()
        .iter()
        .zip(report.contests.iter().zip(&d.secrets.values))
    {
        assert_eq!(audited.title, contest.title);
        assert_eq!(audited.values.len(), contest.options.len());
        contest
            .check_choice(values)
            .expect("an audited ballot obeys the contest's rules");
    }
}

/// The board of `verifier/tests/data/frozen`, which the receipt seeds
/// are for.
fn frozen_board() -> &'static Board {
    static BOARD: OnceLock<Board> = OnceLock::new();
    BOARD.get_or_init(|| {
        let verifier = NoteVerifier::from_vkey(FROZEN_BOARD_VKEY).expect("the frozen board key");
        Board {
            origin: verifier.name().to_owned(),
            author: AuthorKey(verifier.verifying_key().to_bytes()),
            verifier,
        }
    })
}

/// `receipt`: receipt files (SPEC.md §13.4) through [`Receipt::from_json`],
/// [`Receipt::board`], [`Receipt::verify`] and [`check_consistency`].
///
/// * A receipt that parses round-trips through its file form.
/// * One that verifies (under the board key it names, or the frozen
///   record's board) has its checkpoint's size, an index below it, and a
///   checkpoint of `<board origin>/<election>`; and it is consistent with
///   its own checkpoint.
pub fn receipt(data: &[u8]) {
    let Some(t) = text(data) else { return };
    let Ok(r) = Receipt::from_json(t) else {
        return;
    };
    let back = Receipt::from_json(&r.to_json()).expect("a receipt's file parses");
    assert_eq!(back, r);
    let own = r.board().ok();
    for board in own.iter().chain([frozen_board()]) {
        let Ok(cp) = r.verify(board) else { continue };
        assert_eq!(cp.size, r.size);
        assert!(r.index < r.size);
        assert_eq!(cp.origin, board.log_origin(&r.election));
        match check_consistency(&r, board, &r.checkpoint, None) {
            Ok(Consistency::Consistent { size, .. }) => assert_eq!(size, r.size),
            other => panic!("a receipt is not consistent with itself: {other:?}"),
        }
    }
}
