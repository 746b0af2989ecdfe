SELECT user_id FROM user_profiles WHERE username = $1
