SELECT position, action, subject_kind, subject_id, reason, moderator_id, at
FROM moderation_log
WHERE position < $1
ORDER BY position DESC
LIMIT $2
