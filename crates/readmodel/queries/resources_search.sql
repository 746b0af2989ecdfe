-- Ranked full-text search; the keyset is (rank, listed_at), both descending.
SELECT r.id, r.listed_at, r.title, r.url, r.description, r.tags, r.kind,
       r.author_id, r.author_username, r.source_id, r.source_title,
       r.created_at, r.updated_at, r.version, coalesce(c.votes, 0) AS "votes!", r.hidden, r.retracted, r.held,
       hit.rank AS "score!"
FROM (
    SELECT r.id, ts_rank(r.search, q)::float8 AS rank, r.listed_at
    FROM resources r, websearch_to_tsquery('english', $1) AS q
    WHERE r.search @@ q AND NOT r.hidden AND NOT r.retracted AND NOT r.held
) AS hit
JOIN resources r ON r.id = hit.id
LEFT JOIN resource_vote_counts c ON c.resource_id = r.id
WHERE (hit.rank, hit.listed_at) < ($2, $3)
ORDER BY hit.rank DESC, hit.listed_at DESC
LIMIT $4
