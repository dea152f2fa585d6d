-- One row per order that has had a code sent: the current code's expiry, and whether the order
-- still waits for it (closed by order.verified, order.deleted, or its order.expired).
CREATE TABLE verifications (
    order_id        uuid PRIMARY KEY,
    verification_id uuid,
    expires_at      timestamptz,
    open            boolean NOT NULL DEFAULT false,
    -- Stream sequence of the newest event applied to this row.
    last_seq        bigint  NOT NULL DEFAULT 0
);
CREATE INDEX verifications_due ON verifications (expires_at) WHERE open;
