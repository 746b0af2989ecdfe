SELECT r.id, l.listed_at, r.title, r.url, r.description, r.tags, r.kind,
       r.author_id, r.author_username, r.source_id, r.source_title,
       r.created_at, r.updated_at, r.version, l.votes, r.hidden, r.retracted, r.held,
       l.hot AS score
FROM resource_listings l
JOIN resources r ON r.id = l.resource_id
WHERE l.scope_key = resource_list_key($1) AND l.scope = $1 AND (l.hot, l.listed_at) < ($2, $3)
ORDER BY l.hot DESC, l.listed_at DESC
LIMIT $4
