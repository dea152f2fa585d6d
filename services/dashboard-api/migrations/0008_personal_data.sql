-- Personal data that can be forgotten (issue 15, UU PDP 27/2022). Every table here is derived
-- from the stream: a rebuild makes the same rows.

-- Whose row it is (the customer's subject id: keyed hash of the e-mail), the key generation that
-- sealed its personal fields (0: plaintext recorded before sealing) and the stream sequence that
-- recorded them; data_dihapus once the personal fields are erased (they are then null).
ALTER TABLE orders
    ADD COLUMN subject        text,
    ADD COLUMN key_generation integer NOT NULL DEFAULT 0,
    ADD COLUMN recorded_seq   bigint,
    ADD COLUMN data_dihapus   boolean NOT NULL DEFAULT false;
CREATE INDEX orders_subject ON orders (subject) WHERE subject IS NOT NULL;

ALTER TABLE handoffs
    ADD COLUMN subject        text,
    ADD COLUMN key_generation integer NOT NULL DEFAULT 0,
    ADD COLUMN recorded_seq   bigint,
    ADD COLUMN data_dihapus   boolean NOT NULL DEFAULT false;
CREATE INDEX handoffs_subject ON handoffs (subject) WHERE subject IS NOT NULL;

-- An erased customer's name is null: the list sorts it as the empty name, so its keyset
-- comparison never meets a null.
DROP INDEX orders_active_name;
CREATE INDEX orders_active_name ON orders ((coalesce(nama_customer, '')), id) WHERE active;

-- The newest erasure of each customer the projection has applied: an order.created or a
-- hand-off applied after its customer's erasure (replicas share the consumer) is written erased.
CREATE TABLE erased_subjects (
    subject    text PRIMARY KEY,
    -- Keys of this generation and older are erased.
    generation integer     NOT NULL,
    -- The stream sequence of the newest erasure: plaintext recorded before it is erased.
    seq        bigint      NOT NULL,
    erased_at  timestamptz NOT NULL
);

-- The erasure log (customer.erased): who, when, why, and how many rows it blanked. Never the
-- erased data: the customer is named by subject id only.
CREATE TABLE erasures (
    seq         bigint PRIMARY KEY,
    event_id    uuid        NOT NULL,
    subject     text        NOT NULL,
    generation  integer     NOT NULL,
    dasar       text        NOT NULL,
    alasan      text        NOT NULL,
    actor       text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    -- The order the admin erased by, if any.
    order_id    uuid,
    orders      integer     NOT NULL,
    handoffs    integer     NOT NULL
);
CREATE INDEX erasures_subject ON erasures (subject, seq);

-- The history keeps what events say except the customer's words: personal fields come from the
-- order's or hand-off's row alone, which erasure blanks. Rows recorded before lose them here.
UPDATE order_events
SET data = data - 'nama_customer' - 'email' - 'nama_barang' - 'id_percakapan'
WHERE type = 'order.created';
UPDATE order_events
SET data = data - 'nama_customer' - 'email' - 'id_percakapan' - 'ringkasan'
WHERE type = 'customer.handoff_opened';

-- Rows projected before: all plaintext (generation 0), recorded by their first event of the
-- kind. Their subject ids are computed from the e-mail at start (it needs PII_SUBJECT_KEY).
UPDATE orders o SET recorded_seq = e.seq
FROM (SELECT order_id, min(seq) AS seq FROM order_events WHERE type = 'order.created'
      GROUP BY order_id) e
WHERE e.order_id = o.id AND o.created;
UPDATE handoffs h SET recorded_seq = e.seq
FROM (SELECT (data->>'handoff_id')::uuid AS id, min(seq) AS seq FROM order_events
      WHERE type = 'customer.handoff_opened' GROUP BY 1) e
WHERE e.id = h.id AND h.opened_at IS NOT NULL;
