SELECT r.id, r.listed_at, r.title, r.url, r.description, r.tags, r.kind,
       r.author_id, a.username AS author_username,
       r.created_at, r.updated_at, r.version, r.votes, r.hidden, r.retracted,
       resource_hot(r.votes, r.created_at) AS "score!"
FROM resources r
LEFT JOIN resource_authors a ON a.user_id = r.author_id
WHERE r.id = $1
