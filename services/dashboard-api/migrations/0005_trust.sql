-- Rate limits shared by every replica: one row per (limit, client key), counting the hits of the
-- window that began with the key's first hit (so "10 attempts, then wait 15 minutes" holds
-- exactly across replicas). Not derived from events; ended windows are pruned every minute.
CREATE TABLE rate_limits (
    bucket       text        NOT NULL,
    key          text        NOT NULL,
    window_start timestamptz NOT NULL,
    hits         bigint      NOT NULL,
    PRIMARY KEY (bucket, key)
);
CREATE INDEX rate_limits_window ON rate_limits (window_start);

-- Sums of estimated values cannot overflow: a bigint would after about 900,000 orders at the
-- largest accepted value (Rp 10^13). Counts stay bigint (one per order).
ALTER TABLE counters ALTER COLUMN value TYPE numeric;
