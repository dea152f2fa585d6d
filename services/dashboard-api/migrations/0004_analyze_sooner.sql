-- The list's text search is fast only when the planner knows how common the term is (the
-- trigram index for rare terms, the date index for common ones): analyze orders after 2 % of
-- its rows changed instead of the default 10 %, so a large catch-up gets statistics soon.
ALTER TABLE orders SET (autovacuum_analyze_scale_factor = 0.02);
