-- What `ili run` needs on top of the first schema: each simulation says whether it is for
-- training or for the round's held-out test set, and each posterior keeps the settings
-- that sample it (the MCMC sampler, NRE's loss) beside its members.

ALTER TABLE simulations ADD COLUMN purpose TEXT NOT NULL DEFAULT 'train'
    CHECK (purpose IN ('train', 'test'));

ALTER TABLE posteriors ADD COLUMN settings TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings));
