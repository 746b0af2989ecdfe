-- The news sources, newest first, before the keyset position.
SELECT id, listed_at, url, title, feed_title, tags, poll_interval_seconds, status,
       last_error, last_fetched_at, consecutive_failures, items, next_fetch_at,
       added_at, updated_at
FROM news_sources
WHERE NOT removed AND listed_at < $1
ORDER BY listed_at DESC
LIMIT $2
