-- Failed-authentication limits shared by every node of a fleet (used on PostgreSQL; a single
-- SQLite node keeps them in memory). Keys are keyed hashes: no client id or address is stored.
CREATE TABLE auth_failures (
    key          TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    failures     BIGINT NOT NULL
);
CREATE INDEX auth_failures_by_window ON auth_failures (window_start);

-- Keys past their limit, until when: every node polls these into memory.
CREATE TABLE auth_blocks (
    key   TEXT PRIMARY KEY,
    until BIGINT NOT NULL
);
CREATE INDEX auth_blocks_by_until ON auth_blocks (until);

-- (client, address) pairs that authenticated successfully, and when last recorded.
CREATE TABLE auth_trusted (
    key TEXT PRIMARY KEY,
    at  BIGINT NOT NULL
);
CREATE INDEX auth_trusted_by_time ON auth_trusted (at);
