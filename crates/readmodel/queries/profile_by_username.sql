SELECT p.user_id, p.username, p.display_name, p.bio, p.website, p.registered_at
FROM user_profiles p
WHERE p.username = $1
