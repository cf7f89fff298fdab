-- Mirrors (SPEC.md §10.9). Numbered 0010 to leave 0002–0009 to the
-- board's own schema changes; sqlx applies missing lower versions too.

-- On a board: the mirrors whose cosignatures it accepts and publishes,
-- registered by the administrator (`psephos-board add-mirror`). `vkey` is
-- the mirror's C2SP cosignature/v1 verifier key.
CREATE TABLE mirrors (
    vkey  TEXT PRIMARY KEY,
    name  TEXT NOT NULL,
    url   TEXT NOT NULL,
    added BIGINT NOT NULL
);

-- On a mirror: alarms raised against the upstream board, with their
-- evidence as JSON (kind `equivocation` or `invalid_entry`). Any row stops
-- the mirror from following and cosigning.
CREATE TABLE mirror_alarms (
    election TEXT NOT NULL,
    detected BIGINT NOT NULL,
    kind     TEXT NOT NULL,
    evidence TEXT NOT NULL
);
