-- Personal data (issue 15). A recipient is kept as order.created carries it: sealed under the
-- customer's key (opened only when a mail is composed), or plaintext from an order recorded
-- before sealing. customer.erased blanks it.
-- The customer's subject id (keyed hash of the e-mail); NULL only on rows from before this
-- migration, which the service fills in at start (it needs PII_SUBJECT_KEY).
ALTER TABLE recipients ADD COLUMN subject text;
-- The generation of the customer's key that sealed the row; 0 for plaintext from before sealing.
ALTER TABLE recipients ADD COLUMN generation integer NOT NULL DEFAULT 0;
-- Blanked by customer.erased: email and nama_customer are NULL, and no code is mailed.
ALTER TABLE recipients ADD COLUMN erased boolean NOT NULL DEFAULT false;
CREATE INDEX recipients_subject ON recipients (subject);

-- The newest erasure of each customer: an order.created a replica applies after it is recorded
-- blank.
CREATE TABLE recipient_erasures (
    subject    text    PRIMARY KEY,
    generation integer NOT NULL,
    -- stream sequence of that customer.erased
    last_seq   bigint  NOT NULL
);

-- SMTP replies echo the recipient's address ("550 5.1.1 <siti@example.co.id>: user unknown"),
-- and send_log.detail and verifications.failure_reason kept them as they came. From now on the
-- mailer writes them without addresses; the ones written before lose theirs here.
UPDATE send_log
SET detail = regexp_replace(detail, '<?[^][[:space:]<>(),;:"@]+@[^][[:space:]<>(),;:"@]+>?', '<alamat>', 'g')
WHERE detail LIKE '%@%';
UPDATE verifications
SET failure_reason = regexp_replace(failure_reason, '<?[^][[:space:]<>(),;:"@]+@[^][[:space:]<>(),;:"@]+>?', '<alamat>', 'g')
WHERE failure_reason LIKE '%@%';
