-- Who a code would be mailed to: the mailer's own copy of each order's address, and whether the
-- order can still be verified (closed by order.verified, order.expired or order.deleted).
CREATE TABLE recipients (
    order_id      uuid PRIMARY KEY,
    email         text,
    nama_customer text,
    closed        boolean NOT NULL DEFAULT false,
    -- Stream sequence of the newest event that changed `closed`.
    last_seq      bigint  NOT NULL DEFAULT 0
);
