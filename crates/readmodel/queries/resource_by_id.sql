SELECT r.id, r.listed_at, r.title, r.url, r.description, r.tags, r.kind,
       r.author_id, r.author_username, r.source_id, r.source_title,
       r.created_at, r.updated_at, r.version, coalesce(c.votes, 0) AS "votes!", r.hidden, r.retracted, r.held,
       0::float8 AS "score!"
FROM resources r
LEFT JOIN resource_vote_counts c ON c.resource_id = r.id
WHERE r.id = $1
