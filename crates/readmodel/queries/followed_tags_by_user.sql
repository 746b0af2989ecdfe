SELECT tag FROM followed_tags WHERE user_id = $1 ORDER BY tag LIMIT 1000
