-- The bulletin board's schema (SPEC.md §10.8). One file for SQLite and
-- PostgreSQL alike: only TEXT and BIGINT columns, no backend-specific syntax.

-- Board-wide settings: the admin token's SHA-256 and the board's public key.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per election. `size` and `head` (the leaf hash of the last entry,
-- hex) are the chain head; every append locks this row first.
CREATE TABLE elections (
    id      TEXT PRIMARY KEY,
    title   TEXT NOT NULL,
    state   TEXT NOT NULL,
    size    BIGINT NOT NULL,
    head    TEXT NOT NULL,
    created BIGINT NOT NULL
);

-- The log: the exact entry line and its RFC 6962 leaf hash. The primary key
-- is the last line of defence against a forked chain (two entries with one
-- index).
CREATE TABLE entries (
    election  TEXT NOT NULL,
    idx       BIGINT NOT NULL,
    leaf_hash TEXT NOT NULL,
    kind      TEXT NOT NULL,
    author    TEXT NOT NULL,
    line      TEXT NOT NULL,
    PRIMARY KEY (election, idx)
);
CREATE INDEX entries_by_leaf ON entries (election, leaf_hash);

-- Signed checkpoints, one per appended batch; mirrors' cosignature lines are
-- appended to `cosignatures` later.
CREATE TABLE checkpoints (
    election     TEXT NOT NULL,
    size         BIGINT NOT NULL,
    note         TEXT NOT NULL,
    cosignatures TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (election, size)
);

-- Every ballot ciphertext's R point (hex): a ciphertext can be used once per
-- election, so a copied or replayed ballot is refused.
CREATE TABLE ciphertext_points (
    election TEXT NOT NULL,
    r_point  TEXT NOT NULL,
    idx      BIGINT NOT NULL,
    PRIMARY KEY (election, r_point)
);
