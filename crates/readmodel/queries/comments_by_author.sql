-- Every comment a member wrote, gone ones included (the export), newest first.
SELECT id, resource_id, parent_id, body, posted_at, edited_at, gone
FROM comments
WHERE author_id = $1
ORDER BY author_id, posted_at DESC
LIMIT $2
