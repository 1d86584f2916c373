-- Facts a node checks against its own configuration before it serves: a keyed fingerprint of
-- the pepper (a node with another pepper would reject every client's secret), and later the
-- key-encryption key and the issuer.
CREATE TABLE registry_facts (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
