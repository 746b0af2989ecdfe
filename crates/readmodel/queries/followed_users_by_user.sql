SELECT f.followee_id AS "user_id!", p.username AS "username!"
FROM followed_users f
JOIN user_profiles p ON p.user_id = f.followee_id
WHERE f.user_id = $1
ORDER BY p.username
LIMIT 1000
