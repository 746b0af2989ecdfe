SELECT projection, position, subject, event_type, payload, error, recorded_at
FROM dead_letters
WHERE (projection, position) > ($1, $2)
ORDER BY projection, position
LIMIT $3
