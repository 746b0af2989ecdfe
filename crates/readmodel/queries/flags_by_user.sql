-- A member's open flags (the export), newest first.
SELECT target_id, target_kind, reason, at
FROM flags
WHERE user_id = $1
ORDER BY user_id, at DESC
LIMIT $2
