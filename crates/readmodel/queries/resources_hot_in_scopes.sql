-- Hot first across several lists (the front page: members' resources and
-- news): each list gives at most one page from its own index range after
-- the keyset, then the pages are merged. A news item that a member shared
-- is left out of the news lists here: the member's resource stands for it.
SELECT r.id, l.listed_at, r.title, r.url, r.description, r.tags, r.kind,
       r.author_id, r.author_username, r.source_id, r.source_title,
       r.created_at, r.updated_at, r.version, l.votes, r.hidden, r.retracted, r.held,
       l.hot AS score
FROM unnest($1::text[]) AS wanted (scope)
CROSS JOIN LATERAL (
    SELECT listed_at, resource_id, votes, hot FROM resource_listings
    WHERE scope_key = resource_list_key(wanted.scope) AND scope = wanted.scope
      AND (hot, listed_at) < ($2, $3)
      AND (wanted.scope NOT LIKE 'news%' OR NOT EXISTS (
          SELECT FROM resources item
          JOIN resources shared ON shared.canonical_url = item.canonical_url
           AND shared.source_id IS NULL AND NOT shared.hidden AND NOT shared.retracted
          WHERE item.id = resource_id))
    ORDER BY hot DESC, listed_at DESC
    LIMIT $4
) AS l
JOIN resources r ON r.id = l.resource_id
ORDER BY l.hot DESC, l.listed_at DESC
LIMIT $4
