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
