-- Retention (UU PDP 27/2022): every order and hand-off of each customer, and when it closed. A
-- customer whose items have all been closed for RETENTION_PERIOD is erased (customer.erased).
-- Nothing personal: subject ids (keyed hashes of e-mails), key generations and times.
CREATE TABLE retention_items (
    -- 'order' (order.created) or 'handoff' (customer.handoff_opened)
    kind       text    NOT NULL CHECK (kind IN ('order', 'handoff')),
    -- the order id or the hand-off id
    item_id    uuid    NOT NULL,
    -- NULL until the opening event is applied (replicas may apply a close first)
    subject    text,
    -- the generation of the customer's key that sealed the item's fields
    generation integer,
    -- stream sequence of the opening event
    opened_seq bigint,
    -- the newest closing event's occurred_at (order.verified, order.expired, order.deleted,
    -- customer.handoff_closed); NULL while open
    closed_at  timestamptz,
    PRIMARY KEY (kind, item_id)
);
CREATE INDEX retention_items_subject ON retention_items (subject) WHERE subject IS NOT NULL;

-- The newest erasure of each customer (customer.erased): their items of this generation or older
-- are gone, and one opened by a replica applying events out of order is not taken back in.
CREATE TABLE retention_erasures (
    subject    text    PRIMARY KEY,
    generation integer NOT NULL,
    -- stream sequence of that customer.erased
    last_seq   bigint  NOT NULL
);
