-- The verification mail's template and its history are the verification.template_changed rows of
-- order_events (newest by seq is the current one): an index over those rows only.
CREATE INDEX order_events_mail_template ON order_events (seq) WHERE type = 'verification.template_changed';
