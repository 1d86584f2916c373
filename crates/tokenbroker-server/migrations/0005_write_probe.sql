-- One row that readiness checks rewrite: a registry that can be read but not written (a full
-- disk, a read-only replica) is not ready to issue refresh tokens or record revocations.
CREATE TABLE write_probe (
    id BIGINT PRIMARY KEY,
    at BIGINT NOT NULL
);
