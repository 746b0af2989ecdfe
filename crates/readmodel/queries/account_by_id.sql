SELECT p.user_id, p.username, p.display_name, p.bio, p.website, p.registered_at,
       a.roles, a.suspended,
       (coalesce(rk.votes, 0) + coalesce(ck.karma, 0))::bigint AS "karma!"
FROM user_profiles p
JOIN user_access a ON a.user_id = p.user_id
LEFT JOIN resource_karma rk ON rk.user_id = p.user_id
LEFT JOIN comment_karma ck ON ck.user_id = p.user_id
WHERE p.user_id = $1
