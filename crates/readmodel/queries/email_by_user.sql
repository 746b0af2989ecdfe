SELECT email FROM user_credentials WHERE user_id = $1
