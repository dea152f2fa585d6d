-- Conversations the agent handed to a person (customer.handoff_opened / _closed). Replicas
-- share the consumer, so a close may be applied before its open: either event makes the row,
-- and the open's facts are filled in whenever it comes. Listed only once opened.
CREATE TABLE handoffs (
    id            uuid PRIMARY KEY,
    order_id      uuid,
    id_percakapan text,
    nama_customer text,
    email         text,
    referensi     text,
    ringkasan     text,
    opened_at     timestamptz,
    closed_at     timestamptz,
    closed_by     text,
    last_seq      bigint NOT NULL
);
-- The open queue, oldest first; and one open hand-off per conversation.
CREATE INDEX handoffs_open ON handoffs (opened_at, id) WHERE closed_at IS NULL AND opened_at IS NOT NULL;
CREATE INDEX handoffs_conversation ON handoffs (id_percakapan) WHERE closed_at IS NULL;
