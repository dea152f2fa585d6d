-- The operators' read model, projected from every event of the stream.

-- Trigram search lives in public, so that rebuilding (and dropping) this schema keeps it.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

-- One row per order: the fold of its events (see src/domain/order.rs).
CREATE TABLE orders (
    id                    uuid PRIMARY KEY,
    created               boolean     NOT NULL DEFAULT false,
    nama_customer         text,
    email                 text,
    nama_barang           text,
    jenis_barang          text,
    jumlah_barang         bigint,
    estimasi_nilai_barang bigint,
    wilayah               text,
    id_percakapan         text,
    created_at            timestamptz,
    state                 text        NOT NULL DEFAULT 'on_process',
    active                boolean     NOT NULL DEFAULT false,
    sending               boolean     NOT NULL DEFAULT false,
    send_count            integer     NOT NULL DEFAULT 0,
    last_error            text,
    verification_id       uuid,
    expires_at            timestamptz,
    updated_at            timestamptz,
    -- Stream sequence of the newest event folded in.
    last_seq              bigint      NOT NULL DEFAULT 0,
    search                text GENERATED ALWAYS AS (
        lower(coalesce(nama_customer, '') || ' ' || coalesce(nama_barang, '') || ' ' || coalesce(email, ''))
    ) STORED
);

-- Every filter and sort of GET /dashboard/orders has an index over the active rows.
CREATE INDEX orders_active_created ON orders (created_at, id) WHERE active;
CREATE INDEX orders_active_state ON orders (state, created_at, id) WHERE active;
CREATE INDEX orders_active_wilayah ON orders (wilayah, created_at, id) WHERE active;
CREATE INDEX orders_active_value ON orders (estimasi_nilai_barang, id) WHERE active;
CREATE INDEX orders_active_name ON orders (nama_customer, id) WHERE active;
CREATE INDEX orders_active_search ON orders USING gin (search public.gin_trgm_ops) WHERE active;

-- Each event once, by stream sequence: the order's history, and the projection's dedupe.
CREATE TABLE order_events (
    seq         bigint PRIMARY KEY,
    event_id    uuid        NOT NULL,
    order_id    uuid        NOT NULL,
    type        text        NOT NULL,
    actor       text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    data        jsonb       NOT NULL
);
CREATE INDEX order_events_order ON order_events (order_id, seq);

-- Counters kept by the projection, so /dashboard/stats never counts rows per request.
-- dim: 'status' (every order by status), 'wilayah' and 'total' (active orders), 'day' (created).
CREATE TABLE counters (
    dim    text   NOT NULL,
    key    text   NOT NULL,
    orders bigint NOT NULL,
    value  bigint NOT NULL,
    PRIMARY KEY (dim, key)
);
