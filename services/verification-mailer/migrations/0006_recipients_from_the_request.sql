-- verification.requested carries its recipient, sealed by dashboard-api: the mailer no longer
-- keeps a copy of every order's name and address (nor reads order.created). What it still
-- needs of an order is whether it closed.
DELETE FROM recipients WHERE NOT closed;
ALTER TABLE recipients
    DROP COLUMN email,
    DROP COLUMN nama_customer,
    DROP COLUMN subject,
    DROP COLUMN generation,
    DROP COLUMN erased,
    DROP COLUMN closed;
ALTER TABLE recipients RENAME TO closed_orders;
-- recipient_erasures stays: a request sealed under an erased key generation (or an older one) is
-- not mailed, even before order-intake has deleted the key.
