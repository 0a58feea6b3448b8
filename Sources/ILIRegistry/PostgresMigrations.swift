// The SQL of schemas/postgres/*.sql, embedded so that the binary migrates a database from
// any working directory and after being copied elsewhere (SwiftPM resources would tie
// it to a bundle next to the build products). MigrationFilesTests fails when this copy
// and the files differ: edit the .sql file, then paste it here verbatim.

extension Migration {
    static let postgres: [Migration] = [
        Migration(version: 1, name: "registry", sql: #"""
        -- The registry's first schema: experiments, rounds, simulations, model versions,
        -- posteriors with their validation verdicts, training jobs and workers.
        -- Applied once, inside the migration runner's transaction (see schemas/registry.md).

        CREATE TABLE experiments (
            id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name          text NOT NULL UNIQUE CHECK (name <> ''),
            config        jsonb NOT NULL,
            prior         jsonb NOT NULL,
            theta_dim     integer NOT NULL CHECK (theta_dim > 0),
            x_shape       text NOT NULL,
            created_at    timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE rounds (
            id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            experiment_id bigint NOT NULL REFERENCES experiments (id),
            round_index   integer NOT NULL CHECK (round_index >= 0),
            strategy      text NOT NULL,
            proposal      jsonb NOT NULL,
            target_count  integer NOT NULL CHECK (target_count >= 0),
            status        text NOT NULL DEFAULT 'planned'
                          CHECK (status IN ('planned', 'simulating', 'training', 'validating', 'done', 'failed')),
            failure       text,
            created_at    timestamptz NOT NULL DEFAULT now(),
            updated_at    timestamptz NOT NULL DEFAULT now(),
            finished_at   timestamptz,
            UNIQUE (experiment_id, round_index)
        );

        CREATE TABLE simulations (
            id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            round_id      bigint NOT NULL REFERENCES rounds (id),
            task_id       text NOT NULL UNIQUE,
            theta         bytea NOT NULL,
            theta_shape   text NOT NULL,
            x             bytea NOT NULL,
            x_shape       text NOT NULL,
            valid         boolean NOT NULL,
            reason        text,
            worker_id     text NOT NULL,
            received_at   timestamptz NOT NULL DEFAULT now(),
            CHECK (valid OR reason IS NOT NULL)
        );
        -- Training reads one round range at a time: this index keeps it off other rounds' rows.
        CREATE INDEX simulations_round ON simulations (round_id, id);

        CREATE TABLE model_versions (
            id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            experiment_id    bigint NOT NULL REFERENCES experiments (id),
            round_id         bigint NOT NULL REFERENCES rounds (id),
            method           text NOT NULL,
            estimator        jsonb NOT NULL,
            member           integer NOT NULL CHECK (member >= 0),
            weights          bytea NOT NULL,
            weights_sha256   text NOT NULL CHECK (length(weights_sha256) = 64),
            training_summary jsonb NOT NULL,
            created_at       timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX model_versions_experiment ON model_versions (experiment_id, id);

        CREATE TABLE posteriors (
            id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            experiment_id  bigint NOT NULL REFERENCES experiments (id),
            round_id       bigint NOT NULL REFERENCES rounds (id),
            method         text NOT NULL,
            calibrated     boolean NOT NULL DEFAULT false,
            -- The passing verdict that made this posterior calibrated. The composite foreign key
            -- below lets the database itself refuse a flag that no stored passing verdict backs.
            calibrated_by  bigint,
            verdict_passed boolean,
            created_at     timestamptz NOT NULL DEFAULT now(),
            CHECK (calibrated = (calibrated_by IS NOT NULL)),
            CHECK (calibrated_by IS NULL OR verdict_passed)
        );
        CREATE INDEX posteriors_experiment ON posteriors (experiment_id, id);

        CREATE TABLE posterior_members (
            posterior_id     bigint NOT NULL REFERENCES posteriors (id),
            member_index     integer NOT NULL CHECK (member_index >= 0),
            model_version_id bigint NOT NULL REFERENCES model_versions (id),
            weight           double precision NOT NULL CHECK (weight > 0),
            PRIMARY KEY (posterior_id, member_index)
        );

        CREATE TABLE validation_results (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            posterior_id bigint NOT NULL REFERENCES posteriors (id),
            metric       text NOT NULL,
            value        double precision,
            passed       boolean NOT NULL,
            details      jsonb NOT NULL,
            plot_files   jsonb NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            UNIQUE (id, posterior_id, passed)
        );
        CREATE INDEX validation_results_posterior ON validation_results (posterior_id, id);

        ALTER TABLE posteriors ADD CONSTRAINT posteriors_verdict
            FOREIGN KEY (calibrated_by, id, verdict_passed)
            REFERENCES validation_results (id, posterior_id, passed);

        CREATE TABLE training_jobs (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            round_id     bigint NOT NULL REFERENCES rounds (id),
            member       integer NOT NULL CHECK (member >= 0),
            config       jsonb NOT NULL,
            status       text NOT NULL DEFAULT 'queued'
                         CHECK (status IN ('queued', 'running', 'done', 'failed')),
            claimed_by   text,
            heartbeat_at timestamptz,
            attempts     integer NOT NULL DEFAULT 0,
            model_version_id bigint REFERENCES model_versions (id),
            failure      text,
            created_at   timestamptz NOT NULL DEFAULT now(),
            UNIQUE (round_id, member)
        );
        -- Claiming scans only claimable jobs.
        CREATE INDEX training_jobs_open ON training_jobs (id) WHERE status IN ('queued', 'running');

        CREATE TABLE workers (
            id           text PRIMARY KEY,
            kind         text NOT NULL CHECK (kind IN ('simulator', 'trainer', 'validator', 'coordinator')),
            host         text NOT NULL,
            started_at   timestamptz NOT NULL DEFAULT now(),
            last_heartbeat timestamptz NOT NULL DEFAULT now()
        );
        """#),
        Migration(version: 2, name: "rounds", sql: #"""
        -- What `ili run` needs on top of the first schema: each simulation says whether it is for
        -- training or for the round's held-out test set, and each posterior keeps the settings
        -- that sample it (the MCMC sampler, NRE's loss) beside its members.

        ALTER TABLE simulations ADD COLUMN purpose text NOT NULL DEFAULT 'train'
            CHECK (purpose IN ('train', 'test'));

        ALTER TABLE posteriors ADD COLUMN settings jsonb NOT NULL DEFAULT '{}';
        """#),
        Migration(version: 3, name: "round_counters", sql: #"""
        -- A round's simulation counts, kept up to date by every append in the same transaction, so
        -- that reading a round costs the same whether it holds ten simulations or ten million
        -- (counting them on each read visited every row of the round, four times).

        ALTER TABLE rounds ADD COLUMN valid_train bigint NOT NULL DEFAULT 0 CHECK (valid_train >= 0);
        ALTER TABLE rounds ADD COLUMN invalid_train bigint NOT NULL DEFAULT 0 CHECK (invalid_train >= 0);
        ALTER TABLE rounds ADD COLUMN valid_test bigint NOT NULL DEFAULT 0 CHECK (valid_test >= 0);
        ALTER TABLE rounds ADD COLUMN invalid_test bigint NOT NULL DEFAULT 0 CHECK (invalid_test >= 0);

        UPDATE rounds SET
            valid_train = (SELECT count(*) FROM simulations s WHERE s.round_id = rounds.id AND s.valid AND s.purpose = 'train'),
            invalid_train = (SELECT count(*) FROM simulations s WHERE s.round_id = rounds.id AND NOT s.valid AND s.purpose = 'train'),
            valid_test = (SELECT count(*) FROM simulations s WHERE s.round_id = rounds.id AND s.valid AND s.purpose = 'test'),
            invalid_test = (SELECT count(*) FROM simulations s WHERE s.round_id = rounds.id AND NOT s.valid AND s.purpose = 'test');
        """#),
    ]
}
