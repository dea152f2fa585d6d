-- The verification mail's newest template (verification.template_changed), one row. Replicas may
-- apply events out of order, so only a newer stream sequence replaces it. No row: the default.
CREATE TABLE mail_template (
    id         boolean     PRIMARY KEY DEFAULT true CHECK (id),
    template   jsonb       NOT NULL,
    changed_by text        NOT NULL,
    changed_at timestamptz NOT NULL,
    -- Stream sequence of the event that set it.
    last_seq   bigint      NOT NULL
);
