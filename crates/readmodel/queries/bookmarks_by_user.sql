-- A user's bookmarks, newest first; the keyset key is the bookmark's position.
SELECT r.id, b.position AS listed_at, r.title, r.url, r.description, r.tags, r.kind,
       r.author_id, r.author_username, r.source_id, r.source_title,
       r.created_at, r.updated_at, r.version, coalesce(c.votes, 0) AS "votes!", r.hidden, r.retracted, r.held,
       resource_hot(coalesce(c.votes, 0), r.created_at) AS "score!"
FROM bookmarks b
JOIN resources r ON r.id = b.resource_id
LEFT JOIN resource_vote_counts c ON c.resource_id = r.id
WHERE b.user_id = $1 AND b.position < $2 AND NOT r.hidden AND NOT r.retracted
ORDER BY b.position DESC
LIMIT $3
