-- A member's sessions that still hold at $2: not ended, not expired; newest first.
SELECT session_id, started_at, coalesce(last_used_at, started_at) AS "last_used_at!",
       expires_at, ended_at, user_agent
FROM sessions
WHERE user_id = $1 AND ended_at IS NULL AND expires_at > $2
ORDER BY user_id, started_at DESC
LIMIT $3
