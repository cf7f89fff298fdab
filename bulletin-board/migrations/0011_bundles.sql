-- Voting page bundles (SPEC.md §10.9.5, §13.6). On a mirror: the files of
-- every bundle a followed log names in `voting_opened`, fetched from the
-- upstream and checked against that hash, served by hash. `content` is the
-- file in hex (TEXT, so that one schema serves SQLite and PostgreSQL).
-- Unused on a board, which serves the bundle of its --web-dir.
CREATE TABLE bundle_files (
    bundle  TEXT NOT NULL,
    name    TEXT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (bundle, name)
);
