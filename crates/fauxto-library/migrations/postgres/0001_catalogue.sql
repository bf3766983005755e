-- The face catalogue: one row per catalogued face, the models they come from, the bulk
-- jobs that fill it (split into seed ranges that workers claim), and settings.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE models (
    sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    resolution BIGINT NOT NULL,
    license TEXT NOT NULL,
    training_data_root TEXT,
    card TEXT NOT NULL,
    added_at TEXT NOT NULL
);

CREATE TABLE faces (
    id BIGSERIAL PRIMARY KEY,
    model_sha256 TEXT NOT NULL REFERENCES models(sha256),
    seed BIGINT NOT NULL,
    truncation DOUBLE PRECISION NOT NULL,
    created_at TEXT NOT NULL,
    age DOUBLE PRECISION NOT NULL,
    age_band TEXT NOT NULL,
    gender TEXT NOT NULL,
    gender_probability DOUBLE PRECISION NOT NULL,
    expression TEXT NOT NULL,
    neutral DOUBLE PRECISION NOT NULL,
    happy DOUBLE PRECISION NOT NULL,
    sad DOUBLE PRECISION NOT NULL,
    angry DOUBLE PRECISION NOT NULL,
    fearful DOUBLE PRECISION NOT NULL,
    disgusted DOUBLE PRECISION NOT NULL,
    surprised DOUBLE PRECISION NOT NULL,
    yaw DOUBLE PRECISION NOT NULL,
    pitch DOUBLE PRECISION NOT NULL,
    roll DOUBLE PRECISION NOT NULL,
    facing TEXT NOT NULL,
    detection_score DOUBLE PRECISION NOT NULL,
    descriptor BYTEA NOT NULL,
    -- Rank of the face within its (age band, gender, expression) group when it was added:
    -- sorting by it spreads a page over the groups ("diverse").
    group_rank BIGINT NOT NULL,
    sizes TEXT NOT NULL,
    watermark TEXT,
    UNIQUE (model_sha256, seed, truncation)
);
-- Every filter and sort reads this one covering index (skip-scanning the columns a search
-- leaves open), and only the page's rows are read from the table.
CREATE INDEX faces_search ON faces (gender, expression, facing, age_band, age, group_rank, id);
CREATE INDEX faces_diverse ON faces (group_rank, id);

CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    model_sha256 TEXT NOT NULL REFERENCES models(sha256),
    model_path TEXT NOT NULL,
    options TEXT NOT NULL,
    seeds TEXT NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL
);

CREATE TABLE ranges (
    id BIGSERIAL PRIMARY KEY,
    job_id BIGINT NOT NULL REFERENCES jobs(id),
    first_seed BIGINT NOT NULL,
    last_seed BIGINT NOT NULL,
    state TEXT NOT NULL,
    worker TEXT,
    heartbeat BIGINT,
    added BIGINT NOT NULL DEFAULT 0,
    no_face BIGINT NOT NULL DEFAULT 0,
    several_faces BIGINT NOT NULL DEFAULT 0,
    weak_detection BIGINT NOT NULL DEFAULT 0,
    memorised BIGINT NOT NULL DEFAULT 0,
    near_duplicate BIGINT NOT NULL DEFAULT 0,
    already_there BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX ranges_open ON ranges (job_id, state);
