SELECT s.user_id, a.username, a.roles, a.suspended, s.expires_at,
       s.ended_at IS NOT NULL AS "ended!"
FROM sessions s
JOIN user_access a ON a.user_id = s.user_id
WHERE s.session_id = $1
