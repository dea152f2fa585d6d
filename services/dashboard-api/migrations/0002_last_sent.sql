-- When the current code was mailed: the resend cool-down counts from here.
ALTER TABLE orders ADD COLUMN last_sent_at timestamptz;
