-- A resource's comments depth-first, each level ranked: every reply stays
-- under its parent, and siblings go by score when $4 is true (`top`: the
-- Wilson score lower bound of their upvotes, highest first, then oldest
-- first, `comment_wilson`), newest first when it is false (`new`).
-- The key (returned as `path`) is the chain of the comment's and its
-- ancestors' segments (`comment_top_segment`, or the complemented
-- `comment_new_segment`), so a page continues after the key its cursor
-- holds. A thread is one index range, ranked in memory.
WITH RECURSIVE thread AS MATERIALIZED (
    SELECT c.id, c.resource_id, c.parent_id, c.author_id, a.username AS author_username, c.body, c.depth,
           c.path, c.posted_at, c.edited_at, c.gone, c.upvotes, c.downvotes,
           CASE WHEN $4::bool THEN comment_top_segment(c.upvotes, c.downvotes, c.path)
                ELSE comment_new_segment(c.path) END AS segment
    FROM comments c
    LEFT JOIN resource_authors a ON a.user_id = c.author_id
    WHERE c.resource_id = $1
), ranked (id, sort_key) AS (
    SELECT t.id, t.segment
    FROM thread t
    WHERE t.parent_id IS NULL
    UNION ALL
    SELECT t.id, r.sort_key || '.' || t.segment
    FROM thread t JOIN ranked r ON t.parent_id = r.id
)
SELECT t.id AS "id!", t.resource_id AS "resource_id!", t.parent_id, t.author_id AS "author_id!", t.author_username,
       t.body AS "body!", t.depth AS "depth!", r.sort_key AS "path!",
       t.posted_at AS "posted_at!", t.edited_at, t.gone AS "gone!",
       t.upvotes AS "upvotes!", t.downvotes AS "downvotes!"
FROM ranked r
JOIN thread t ON t.id = r.id
WHERE r.sort_key > $2
ORDER BY r.sort_key
LIMIT $3
