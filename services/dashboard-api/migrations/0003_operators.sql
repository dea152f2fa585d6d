-- Operators and their sessions. These are not derived from events: a rebuild carries them over.
CREATE TABLE operators (
    id            uuid PRIMARY KEY,
    username      text        NOT NULL UNIQUE,
    display_name  text        NOT NULL,
    -- Argon2id, PHC string format.
    password_hash text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('admin', 'operator')),
    active        boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- A session is known by the SHA-256 of its cookie token; the token itself is never stored.
CREATE TABLE sessions (
    token_hash  bytea PRIMARY KEY,
    operator_id uuid        NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    csrf_token  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_operator ON sessions (operator_id);
