SELECT r.id, r.listed_at, r.title, r.url, r.description, r.tags, r.kind,
       r.author_id, a.username AS author_username,
       r.created_at, r.updated_at, r.version, r.votes, r.hidden, r.retracted
FROM resource_tags t
JOIN resources r ON r.id = t.resource_id
LEFT JOIN resource_authors a ON a.user_id = r.author_id
WHERE t.tag = $1 AND t.listed_at < $2
ORDER BY t.listed_at DESC
LIMIT $3
