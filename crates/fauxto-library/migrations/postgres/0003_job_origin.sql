-- Who started a job: `cli` (`fauxto library add`, resumed by running it again) or `studio`
-- (resumed by the studio when it starts). Any job may also be cancelled: state `cancelled`.

ALTER TABLE jobs ADD COLUMN origin TEXT NOT NULL DEFAULT 'cli';
