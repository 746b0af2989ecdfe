-- Projection "comments": erasing a member takes the text of their comments
-- (their place in the thread stays), found by author.
CREATE INDEX IF NOT EXISTS comments_by_author ON comments (author_id, posted_at DESC);
