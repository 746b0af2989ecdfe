-- A member's sessions, ended ones included (the export), newest first.
SELECT session_id, started_at, coalesce(last_used_at, started_at) AS "last_used_at!",
       expires_at, ended_at, user_agent
FROM sessions
WHERE user_id = $1
ORDER BY user_id, started_at DESC
LIMIT $2
