-- The intake's own index of order.created events, by idempotency key: it answers retries
-- after JetStream's duplicate window has passed.
CREATE TABLE idempotency_keys (
    key         text        NOT NULL,
    idx         integer     NOT NULL,
    count       integer     NOT NULL,
    fingerprint text        NOT NULL,
    order_id    uuid        NOT NULL,
    seq         bigint      NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (key, idx)
);
