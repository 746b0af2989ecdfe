-- Sources due for polling, the longest overdue first, with the position
-- of the last event the view has applied to each.
SELECT id, position
FROM news_sources
WHERE NOT removed AND next_fetch_at <= $1
ORDER BY next_fetch_at
LIMIT $2
