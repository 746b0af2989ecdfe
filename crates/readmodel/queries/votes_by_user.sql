-- The resources a member upvoted (the export), newest vote first.
SELECT resource_id, voted_at
FROM resource_votes
WHERE user_id = $1
ORDER BY user_id, voted_at DESC
LIMIT $2
