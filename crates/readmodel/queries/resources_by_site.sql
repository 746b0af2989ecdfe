-- One site's visible resources, newest first, strictly before the keyset
-- position $2: a range of `site_resources_newest`, then each item by id.
-- The resources view may show a change the sites view has not reached yet
-- (they are projections of their own): it is asked too.
SELECT r.id, s.listed_at, r.title, r.url, r.description, r.tags, r.kind,
       r.author_id, r.author_username, r.source_id, r.source_title,
       r.created_at, r.updated_at, r.version, coalesce(c.votes, 0) AS "votes!", r.hidden, r.retracted, r.held,
       0::float8 AS "score!"
FROM site_resources s
JOIN resources r ON r.id = s.resource_id
LEFT JOIN resource_vote_counts c ON c.resource_id = r.id
WHERE s.site = $1 AND NOT s.hidden AND NOT s.retracted AND NOT s.held AND s.listed_at < $2
  AND NOT r.hidden AND NOT r.retracted AND NOT r.held
ORDER BY s.listed_at DESC
LIMIT $3
