-- The comments a member voted on, which way (the export), newest vote first.
SELECT comment_id, up, voted_at
FROM comment_votes
WHERE user_id = $1
ORDER BY user_id, voted_at DESC
LIMIT $2
