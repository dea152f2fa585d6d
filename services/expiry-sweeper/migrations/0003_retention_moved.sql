-- Retention moved to dashboard-api, whose read model already holds every customer's orders and
-- hand-offs: the sweeper no longer reads order.created, hand-offs or erasures, and keeps nothing
-- per customer.
DROP TABLE retention_items;
DROP TABLE retention_erasures;
