SELECT p.user_id, p.username, p.display_name, p.bio, p.website, p.registered_at,
       a.roles, a.suspended
FROM user_profiles p
JOIN user_access a ON a.user_id = p.user_id
WHERE p.user_id = $1
