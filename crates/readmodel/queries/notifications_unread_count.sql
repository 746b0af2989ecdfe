-- How many of a member's notifications are after what they have read: a
-- range of the primary key.
SELECT count(*) AS "unread!"
FROM notifications n
WHERE n.recipient_id = $1
  AND n.position > coalesce(
      (SELECT read_up_to FROM notification_members WHERE user_id = $1), 0)
