-- Nothing recorded without its event. A send's outcome is recorded first (`sent_at`, or
-- `failure_reason` for a send that failed for good), then announced; `announced_at` is set once
-- the event's PubAck came back. The send request stays unacked until then, so a crash in between
-- redelivers it and the redelivery announces the recorded outcome (same Nats-Msg-Id).
ALTER TABLE verifications ADD COLUMN failure_reason text;
ALTER TABLE verifications ADD COLUMN announced_at timestamptz;
-- Rows written before this migration have nothing left to announce.
UPDATE verifications SET announced_at = coalesce(sent_at, created_at) WHERE state <> 'pending';

-- The code checks' shared budgets, one row per window (the newest only: older windows are
-- deleted as a new one starts). All replicas count here, under one advisory lock, so a budget
-- holds exactly for the whole service.
CREATE TABLE check_budget (
    window_start timestamptz PRIMARY KEY,
    -- failed checks counted (reserved when a check starts; given back when it matched)
    failures     integer NOT NULL DEFAULT 0,
    -- checks without an order (the code-only opt-in)
    code_only    integer NOT NULL DEFAULT 0
);
