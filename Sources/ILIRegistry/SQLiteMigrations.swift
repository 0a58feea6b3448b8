// The SQL of schemas/sqlite/*.sql, embedded so that the binary migrates a database from
// any working directory and after being copied elsewhere (SwiftPM resources would tie
// it to a bundle next to the build products). MigrationFilesTests fails when this copy
// and the files differ: edit the .sql file, then paste it here verbatim.

extension Migration {
    static let sqlite: [Migration] = [
        Migration(version: 1, name: "registry", sql: #"""
        -- The registry's first schema for the embedded back end; the same tables as
        -- schemas/postgres/001_registry.sql. Times are REAL seconds since 1970 (UTC), booleans
        -- INTEGER 0/1, JSON TEXT checked by json_valid. STRICT tables refuse mistyped values.

        CREATE TABLE experiments (
            id            INTEGER PRIMARY KEY,
            name          TEXT NOT NULL UNIQUE CHECK (name <> ''),
            config        TEXT NOT NULL CHECK (json_valid(config)),
            prior         TEXT NOT NULL CHECK (json_valid(prior)),
            theta_dim     INTEGER NOT NULL CHECK (theta_dim > 0),
            x_shape       TEXT NOT NULL,
            created_at    REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0)
        ) STRICT;

        CREATE TABLE rounds (
            id            INTEGER PRIMARY KEY,
            experiment_id INTEGER NOT NULL REFERENCES experiments (id),
            round_index   INTEGER NOT NULL CHECK (round_index >= 0),
            strategy      TEXT NOT NULL,
            proposal      TEXT NOT NULL CHECK (json_valid(proposal)),
            target_count  INTEGER NOT NULL CHECK (target_count >= 0),
            status        TEXT NOT NULL DEFAULT 'planned'
                          CHECK (status IN ('planned', 'simulating', 'training', 'validating', 'done', 'failed')),
            failure       TEXT,
            created_at    REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
            updated_at    REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
            finished_at   REAL,
            UNIQUE (experiment_id, round_index)
        ) STRICT;

        CREATE TABLE simulations (
            id            INTEGER PRIMARY KEY,
            round_id      INTEGER NOT NULL REFERENCES rounds (id),
            task_id       TEXT NOT NULL UNIQUE,
            theta         BLOB NOT NULL,
            theta_shape   TEXT NOT NULL,
            x             BLOB NOT NULL,
            x_shape       TEXT NOT NULL,
            valid         INTEGER NOT NULL CHECK (valid IN (0, 1)),
            reason        TEXT,
            worker_id     TEXT NOT NULL,
            received_at   REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
            CHECK (valid = 1 OR reason IS NOT NULL)
        ) STRICT;
        -- Training reads one round range at a time: this index keeps it off other rounds' rows.
        CREATE INDEX simulations_round ON simulations (round_id, id);

        CREATE TABLE model_versions (
            id               INTEGER PRIMARY KEY,
            experiment_id    INTEGER NOT NULL REFERENCES experiments (id),
            round_id         INTEGER NOT NULL REFERENCES rounds (id),
            method           TEXT NOT NULL,
            estimator        TEXT NOT NULL CHECK (json_valid(estimator)),
            member           INTEGER NOT NULL CHECK (member >= 0),
            weights          BLOB NOT NULL,
            weights_sha256   TEXT NOT NULL CHECK (length(weights_sha256) = 64),
            training_summary TEXT NOT NULL CHECK (json_valid(training_summary)),
            created_at       REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0)
        ) STRICT;
        CREATE INDEX model_versions_experiment ON model_versions (experiment_id, id);

        CREATE TABLE posteriors (
            id             INTEGER PRIMARY KEY,
            experiment_id  INTEGER NOT NULL REFERENCES experiments (id),
            round_id       INTEGER NOT NULL REFERENCES rounds (id),
            method         TEXT NOT NULL,
            calibrated     INTEGER NOT NULL DEFAULT 0 CHECK (calibrated IN (0, 1)),
            -- The passing verdict that made this posterior calibrated. The composite foreign key
            -- lets the database itself refuse a flag that no stored passing verdict backs.
            calibrated_by  INTEGER,
            verdict_passed INTEGER,
            created_at     REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
            CHECK (calibrated = (calibrated_by IS NOT NULL)),
            CHECK (calibrated_by IS NULL OR verdict_passed = 1),
            FOREIGN KEY (calibrated_by, id, verdict_passed)
                REFERENCES validation_results (id, posterior_id, passed)
        ) STRICT;
        CREATE INDEX posteriors_experiment ON posteriors (experiment_id, id);

        CREATE TABLE posterior_members (
            posterior_id     INTEGER NOT NULL REFERENCES posteriors (id),
            member_index     INTEGER NOT NULL CHECK (member_index >= 0),
            model_version_id INTEGER NOT NULL REFERENCES model_versions (id),
            weight           REAL NOT NULL CHECK (weight > 0),
            PRIMARY KEY (posterior_id, member_index)
        ) STRICT;

        CREATE TABLE validation_results (
            id           INTEGER PRIMARY KEY,
            posterior_id INTEGER NOT NULL REFERENCES posteriors (id),
            metric       TEXT NOT NULL,
            value        REAL,
            passed       INTEGER NOT NULL CHECK (passed IN (0, 1)),
            details      TEXT NOT NULL CHECK (json_valid(details)),
            plot_files   TEXT NOT NULL CHECK (json_valid(plot_files)),
            created_at   REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
            UNIQUE (id, posterior_id, passed)
        ) STRICT;
        CREATE INDEX validation_results_posterior ON validation_results (posterior_id, id);

        CREATE TABLE training_jobs (
            id           INTEGER PRIMARY KEY,
            round_id     INTEGER NOT NULL REFERENCES rounds (id),
            member       INTEGER NOT NULL CHECK (member >= 0),
            config       TEXT NOT NULL CHECK (json_valid(config)),
            status       TEXT NOT NULL DEFAULT 'queued'
                         CHECK (status IN ('queued', 'running', 'done', 'failed')),
            claimed_by   TEXT,
            heartbeat_at REAL,
            attempts     INTEGER NOT NULL DEFAULT 0,
            model_version_id INTEGER REFERENCES model_versions (id),
            failure      TEXT,
            created_at   REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
            UNIQUE (round_id, member)
        ) STRICT;
        -- Claiming scans only claimable jobs.
        CREATE INDEX training_jobs_open ON training_jobs (id) WHERE status IN ('queued', 'running');

        CREATE TABLE workers (
            id             TEXT PRIMARY KEY,
            kind           TEXT NOT NULL CHECK (kind IN ('simulator', 'trainer', 'validator', 'coordinator')),
            host           TEXT NOT NULL,
            started_at     REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
            last_heartbeat REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0)
        ) STRICT;
        """#),
        Migration(version: 2, name: "rounds", sql: #"""
        -- What `ili run` needs on top of the first schema: each simulation says whether it is for
        -- training or for the round's held-out test set, and each posterior keeps the settings
        -- that sample it (the MCMC sampler, NRE's loss) beside its members.

        ALTER TABLE simulations ADD COLUMN purpose TEXT NOT NULL DEFAULT 'train'
            CHECK (purpose IN ('train', 'test'));

        ALTER TABLE posteriors ADD COLUMN settings TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings));
        """#),
        Migration(version: 3, name: "round_counters", sql: #"""
        -- A round's simulation counts, kept up to date by every append in the same transaction, so
        -- that reading a round costs the same whether it holds ten simulations or ten million
        -- (counting them on each read visited every row of the round, four times).

        ALTER TABLE rounds ADD COLUMN valid_train INTEGER NOT NULL DEFAULT 0 CHECK (valid_train >= 0);
        ALTER TABLE rounds ADD COLUMN invalid_train INTEGER NOT NULL DEFAULT 0 CHECK (invalid_train >= 0);
        ALTER TABLE rounds ADD COLUMN valid_test INTEGER NOT NULL DEFAULT 0 CHECK (valid_test >= 0);
        ALTER TABLE rounds ADD COLUMN invalid_test INTEGER NOT NULL DEFAULT 0 CHECK (invalid_test >= 0);

        UPDATE rounds SET
            valid_train = (SELECT count(*) FROM simulations s WHERE s.round_id = rounds.id AND s.valid AND s.purpose = 'train'),
            invalid_train = (SELECT count(*) FROM simulations s WHERE s.round_id = rounds.id AND NOT s.valid AND s.purpose = 'train'),
            valid_test = (SELECT count(*) FROM simulations s WHERE s.round_id = rounds.id AND s.valid AND s.purpose = 'test'),
            invalid_test = (SELECT count(*) FROM simulations s WHERE s.round_id = rounds.id AND NOT s.valid AND s.purpose = 'test');
        """#),
    ]
}
