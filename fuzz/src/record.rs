//! The election record (SPEC.md §9): entry lines, post bodies of every
//! payload type, and the ballot body's fast path.

use std::mem::discriminant;

use psephos_crypto::log::leaf_hash;
use psephos_crypto::record::{
    open_ballot, open_signed, parse_body, require_canonical, Body, ChainFollower, Entry, Payload,
    Post,
};
use serde_json::value::RawValue;

use crate::{author_key, fixed_key, fixed_public, sign_body, text};

/// JSON's white space (RFC 8259): what may surround a value.
const JSON_WS: [char; 4] = [' ', '\t', '\n', '\r'];

/// `entry_line`: [`Entry::from_line`] on any text.
///
/// * A line that parses is canonical: [`Entry::to_line`] gives it back
///   byte for byte, and that parses to the same entry.
/// * The hash chain takes it after its `prev` at its `index`, and its leaf
///   hash is `SHA-256(0x00 ‖ line)`.
/// * Opening its body ([`Entry::open`]) gives what [`parse_body`] gives,
///   and an opened body serializes to exactly the body bytes in the line.
pub fn entry_line(data: &[u8]) {
    let Some(line) = text(data) else { return };
    let Ok(entry) = Entry::from_line(line) else {
        return;
    };
    let again = entry.to_line().expect("a parsed entry serializes");
    assert_eq!(again, line, "Entry::from_line took a non-canonical line");
    let back = Entry::from_line(&again).expect("a canonical line parses again");
    assert_eq!(back.index, entry.index);
    assert_eq!(back.prev, entry.prev);
    assert_eq!(back.time, entry.time);
    assert_eq!(back.body.get(), entry.body.get());
    assert_eq!(back.signature.0, entry.signature.0);

    let mut chain = ChainFollower::resume(entry.index, entry.prev);
    let leaf = chain
        .accept(line, &entry)
        .expect("the chain takes an entry at its own index and prev");
    assert_eq!(leaf, leaf_hash(line.as_bytes()));
    assert_eq!(chain.head(), leaf);
    assert_eq!(chain.next_index(), entry.index.wrapping_add(1));

    let opened = entry.open();
    let parsed = parse_body(entry.body.get());
    if let Ok(body) = &opened {
        assert_eq!(
            parsed.as_ref().ok(),
            Some(body),
            "open and parse_body disagree"
        );
        assert_eq!(
            serde_json::to_string(body).expect("a body serializes"),
            entry.body.get(),
            "an opened body is not its canonical serialization"
        );
    }
}

/// `body`: post bodies of every payload type (SPEC.md §9.1, §9.3), through
/// [`parse_body`], [`open_signed`], [`Post`] and [`Entry`].
///
/// * `parse_body` accepts exactly the one-line texts that parse as a
///   [`Body`] and re-serialize to the same bytes (SPEC.md §9.1.1), and
///   [`require_canonical`] agrees.
/// * An accepted body's `type`, `election` and `author` are the JSON's;
///   its payload round-trips through JSON on its own.
/// * Signed by the fixed author key, the text opens iff it parses and
///   names that key as its author; signed by another key it never opens.
/// * Wrapped as a post, `{"body":<text>,"signature":…}`, the post's body
///   bytes are the text and [`Post::open`] answers as `open_signed`.
/// * Carried verbatim in an entry line, the line is canonical and gives
///   the text back.
pub fn body(data: &[u8]) {
    let Some(t) = text(data) else { return };
    let key = author_key();
    let signature = sign_body(&key, t);
    let parsed = parse_body(t);

    let generic = serde_json::from_str::<Body>(t);
    let canonical = !t.contains(['\n', '\r'])
        && generic
            .as_ref()
            .is_ok_and(|b| serde_json::to_string(b).is_ok_and(|s| s == t));
    assert_eq!(
        parsed.is_ok(),
        canonical,
        "parse_body: {parsed:?}, but the text {} its canonical serialization",
        if canonical { "is" } else { "is not" }
    );
    if let Ok(b) = &parsed {
        require_canonical(b, t).expect("require_canonical refuses what parse_body took");
        let json: serde_json::Value = serde_json::from_str(t).expect("a body is JSON");
        assert_eq!(json["type"].as_str(), Some(b.payload.type_name()));
        assert_eq!(json["election"].as_str(), Some(b.election.as_str()));
        assert_eq!(json["author"].as_str(), Some(b.author.to_hex().as_str()));
        let payload = serde_json::to_string(&b.payload).expect("a payload serializes");
        let back: Payload = serde_json::from_str(&payload).expect("a payload parses back");
        assert_eq!(back, b.payload);
    }

    let opened = open_signed(t, &signature);
    match &parsed {
        Ok(b) if b.author.0 == key.verifying_key().to_bytes() => {
            assert_eq!(opened.as_ref().ok(), Some(b), "a body signed by its author")
        }
        _ => assert!(opened.is_err(), "opened a body not signed by its author"),
    }
    let forged = sign_body(&fixed_key("other"), t);
    assert!(
        open_signed(t, &forged).is_err(),
        "opened a forged signature"
    );

    let trimmed = t.trim_matches(JSON_WS);
    let post_json = format!(
        "{{\"body\":{t},\"signature\":\"{}\"}}",
        hex::encode(signature.0)
    );
    if let Ok(post) = serde_json::from_str::<Post>(&post_json) {
        assert_eq!(post.body_text(), trimmed, "the post's body bytes");
        if trimmed == t {
            assert_eq!(post.open().ok(), opened.as_ref().ok().cloned());
        }
    }

    if trimmed == t {
        if let Ok(raw) = RawValue::from_string(t.to_owned()) {
            let entry = Entry {
                index: 7,
                prev: [0x5a; 32],
                time: 1_767_225_600,
                body: raw,
                signature,
            };
            let line = entry.to_line().expect("an entry serializes");
            let back = Entry::from_line(&line).expect("an entry's own line is canonical");
            assert_eq!(back.body.get(), t);
            assert_eq!(back.open().ok(), opened.ok());
        }
    }
}

/// `ballot_body`: [`open_ballot`], the ballot fast path (SPEC.md §9.1), on
/// any text signed by the fixed author key, against the generic path
/// [`open_signed`] it must agree with.
///
/// * It opens exactly the bodies `open_signed` opens that are ballots, to
///   the same election, author and ballot; where both refuse, they refuse
///   with the same kind of error.
/// * The key the caller passes changes nothing: the author's, another, or
///   none give the same answer.
/// * A signature by another key never opens.
/// * An opened ballot re-serializes as a [`Body`] to exactly the text.
pub fn ballot_body(data: &[u8]) {
    let Some(t) = text(data) else { return };
    let key = author_key();
    let vk = key.verifying_key();
    let signature = sign_body(&key, t);
    let fast = open_ballot(t, &signature, None);
    let generic = open_signed(t, &signature);
    match (&fast, &generic) {
        (Ok(f), Ok(g)) => {
            assert_eq!(f.election, g.election);
            assert_eq!(f.author, g.author);
            match &g.payload {
                Payload::Ballot(b) => assert_eq!(&f.ballot, b),
                other => panic!("open_ballot opened a {}", other.type_name()),
            }
        }
        (Ok(_), Err(e)) => panic!("open_ballot opened what open_signed refuses: {e}"),
        (Err(e), Ok(g)) => assert!(
            !matches!(g.payload, Payload::Ballot(_)),
            "open_ballot refused a ballot open_signed opens: {e}"
        ),
        (Err(f), Err(g)) => assert_eq!(
            discriminant(f),
            discriminant(g),
            "open_ballot: {f}; open_signed: {g}"
        ),
    }
    let ok = fast.is_ok();
    assert_eq!(open_ballot(t, &signature, Some(&vk)).is_ok(), ok);
    assert_eq!(
        open_ballot(t, &signature, Some(&fixed_public("other"))).is_ok(),
        ok
    );
    let forged = sign_body(&fixed_key("other"), t);
    assert!(open_ballot(t, &forged, None).is_err());
    assert!(open_ballot(t, &forged, Some(&vk)).is_err());
    assert!(open_ballot(t, &forged, Some(&fixed_public("other"))).is_err());
    if let Ok(f) = fast {
        let body = Body {
            election: f.election,
            author: f.author,
            payload: Payload::Ballot(f.ballot),
        };
        assert_eq!(
            serde_json::to_string(&body).expect("a ballot body serializes"),
            t,
            "open_ballot took a non-canonical body"
        );
    }
}
