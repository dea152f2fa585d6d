-- gadai-privacy: one data key per customer, wrapped under a master key (crypto-shredding).
-- The owning service copies this file verbatim into its own migrations and lists
-- customer_keys in its KEPT_TABLES (the rows are not derived from events: a rebuild that
-- dropped them would erase every customer). gadai_privacy::check_migrator checks the copy.
CREATE TABLE customer_keys (
    -- hex HMAC-SHA256 of the customer's normalised e-mail under PII_SUBJECT_KEY
    subject text PRIMARY KEY,
    -- 1 for a customer's first key, n + 1 for the key made after the n-th erasure
    generation integer NOT NULL DEFAULT 1 CHECK (generation > 0),
    -- the id of the master key (PII_MASTER_KEYS) that wrapped the key
    master_id text NOT NULL,
    -- nonce | AES-256-GCM ciphertext | tag of the 32-byte key; empty once erased
    wrapped bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- set by an erasure: the row stays as a tombstone, the key bytes are gone
    erased_at timestamptz,
    -- why (a request reference, never personal data)
    erased_reason text,
    CONSTRAINT customer_keys_erased_means_no_key
        CHECK ((erased_at IS NULL) = (octet_length(wrapped) > 0))
);
