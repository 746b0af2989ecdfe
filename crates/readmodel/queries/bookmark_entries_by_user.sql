-- A member's bookmarks as stored, whatever became of the resources (the
-- export), newest first.
SELECT resource_id, bookmarked_at
FROM bookmarks
WHERE user_id = $1
ORDER BY user_id, position DESC
LIMIT $2
