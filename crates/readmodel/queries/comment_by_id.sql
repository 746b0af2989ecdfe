-- One comment, whatever its state (callers decide who may see it).
SELECT c.id, c.resource_id, c.parent_id, c.author_id, a.username AS author_username, c.body,
       c.depth, c.path, c.posted_at, c.edited_at, c.gone, c.upvotes, c.downvotes
FROM comments c
LEFT JOIN resource_authors a ON a.user_id = c.author_id
WHERE c.id = $1
