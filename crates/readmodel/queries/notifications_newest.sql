-- A member's inbox, newest first, strictly before the position $2, each
-- notification with who acted (by name, unless erased), where (the
-- resource's title as it reads now) and whether it is read.
SELECT n.position, n.kind, n.actor_id, a.username AS "actor_username?", n.resource_id,
       r.title AS "resource_title?", n.comment_id, n.at,
       n.position <= coalesce(m.read_up_to, 0) AS "read!"
FROM notifications n
LEFT JOIN notification_members a ON a.user_id = n.actor_id
LEFT JOIN notification_resources r ON r.resource_id = n.resource_id
LEFT JOIN notification_members m ON m.user_id = n.recipient_id
WHERE n.recipient_id = $1 AND n.position < $2
ORDER BY n.position DESC
LIMIT $3
