-- The face catalogue: one row per catalogued face, the models they come from, the bulk
-- jobs that fill it (split into seed ranges that workers claim), and settings.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE models (
    sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    resolution INTEGER NOT NULL,
    license TEXT NOT NULL,
    training_data_root TEXT,
    card TEXT NOT NULL,
    added_at TEXT NOT NULL
);

CREATE TABLE faces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model_sha256 TEXT NOT NULL REFERENCES models(sha256),
    seed INTEGER NOT NULL,
    truncation REAL NOT NULL,
    created_at TEXT NOT NULL,
    age REAL NOT NULL,
    age_band TEXT NOT NULL,
    gender TEXT NOT NULL,
    gender_probability REAL NOT NULL,
    expression TEXT NOT NULL,
    neutral REAL NOT NULL,
    happy REAL NOT NULL,
    sad REAL NOT NULL,
    angry REAL NOT NULL,
    fearful REAL NOT NULL,
    disgusted REAL NOT NULL,
    surprised REAL NOT NULL,
    yaw REAL NOT NULL,
    pitch REAL NOT NULL,
    roll REAL NOT NULL,
    facing TEXT NOT NULL,
    detection_score REAL NOT NULL,
    descriptor BLOB NOT NULL,
    -- Rank of the face within its (age band, gender, expression) group when it was added:
    -- sorting by it spreads a page over the groups ("diverse").
    group_rank INTEGER NOT NULL,
    sizes TEXT NOT NULL,
    watermark TEXT,
    UNIQUE (model_sha256, seed, truncation)
);
-- Every filter and sort reads this one covering index (skip-scanning the columns a search
-- leaves open), and only the page's rows are read from the table.
CREATE INDEX faces_search ON faces (gender, expression, facing, age_band, age, group_rank, id);
CREATE INDEX faces_diverse ON faces (group_rank, id);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model_sha256 TEXT NOT NULL REFERENCES models(sha256),
    model_path TEXT NOT NULL,
    options TEXT NOT NULL,
    seeds TEXT NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL
);

CREATE TABLE ranges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs(id),
    first_seed INTEGER NOT NULL,
    last_seed INTEGER NOT NULL,
    state TEXT NOT NULL,
    worker TEXT,
    heartbeat INTEGER,
    added INTEGER NOT NULL DEFAULT 0,
    no_face INTEGER NOT NULL DEFAULT 0,
    several_faces INTEGER NOT NULL DEFAULT 0,
    weak_detection INTEGER NOT NULL DEFAULT 0,
    memorised INTEGER NOT NULL DEFAULT 0,
    near_duplicate INTEGER NOT NULL DEFAULT 0,
    already_there INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ranges_open ON ranges (job_id, state);
