SELECT tag FROM hidden_tags WHERE user_id = $1 ORDER BY tag LIMIT 100
