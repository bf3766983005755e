-- API keys of the studio: each stored only as the SHA-256 of its secret, with the scope it
-- grants (read < generate < admin). A revoked key stays, so that its id is never reused.

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
