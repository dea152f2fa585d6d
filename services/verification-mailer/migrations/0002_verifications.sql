-- Codes as keyed hashes. One row per requested send (id derived from order and request number,
-- so a redelivered request finds its row). `code_hash` is HMAC-SHA256 with the mailer's key;
-- the plaintext is never stored.
CREATE TABLE verifications (
    id            uuid PRIMARY KEY,
    order_id      uuid        NOT NULL,
    request_no    integer     NOT NULL,
    code_hash     bytea       NOT NULL,
    -- pending (about to be mailed), sent, matched (a check succeeded; order.verified follows),
    -- failed, replaced (a newer code was sent), closed (verified, expired or deleted)
    state         text        NOT NULL,
    attempts      integer     NOT NULL DEFAULT 0,
    expires_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz,
    UNIQUE (order_id, request_no)
);
-- Live codes are unique, so a code identifies its order.
CREATE UNIQUE INDEX verifications_live_code ON verifications (code_hash)
    WHERE state IN ('pending', 'sent', 'matched');
CREATE INDEX verifications_order ON verifications (order_id) WHERE state IN ('pending', 'sent', 'matched');

-- Every attempt to hand a mail to the SMTP server, and its outcome.
CREATE TABLE send_log (
    verification_id uuid        NOT NULL,
    attempted_at    timestamptz NOT NULL DEFAULT now(),
    outcome         text        NOT NULL,
    detail          text
);
CREATE INDEX send_log_verification ON send_log (verification_id);
