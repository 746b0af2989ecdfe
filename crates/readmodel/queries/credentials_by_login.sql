SELECT user_id, username, password_hash
FROM user_credentials
WHERE username = $1 OR email = $1
