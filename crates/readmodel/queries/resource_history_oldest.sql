-- A resource's edits, oldest first, strictly after the position $2, each
-- with the revision before it (the submission or the edit before).
SELECT e.position, e.at, e.editor_id, a.username AS "editor_username?",
       e.title, e.description, e.tags, e.kind,
       p.title AS "before_title?", p.description AS "before_description?",
       p.tags AS "before_tags?", p.kind AS "before_kind?"
FROM resource_revisions e
LEFT JOIN revision_editors a ON a.user_id = e.editor_id
LEFT JOIN LATERAL (
    SELECT title, description, tags, kind FROM resource_revisions p
    WHERE p.resource_id = e.resource_id AND p.position < e.position
    ORDER BY p.position DESC
    LIMIT 1
) AS p ON true
WHERE e.resource_id = $1 AND e.edit AND e.position > $2
ORDER BY e.position
LIMIT $3
