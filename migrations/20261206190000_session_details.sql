-- What a member needs to tell their sessions apart and to export their
-- data, each read from one index.

-- Projection "users": the client a session was started from, and when its
-- refresh token was last used (NULL: never since the start; sessions
-- refreshed before this column read as never, until `replay users`).
-- Sessions started before `session.started` v2 have no user agent.
ALTER TABLE sessions
    ADD COLUMN user_agent text NOT NULL DEFAULT '',
    ADD COLUMN last_used_at timestamptz;

-- A member's sessions, newest first: the open ones (GET /v1/me/sessions)
-- and all of them (the export, and erasing their user agents when the
-- account is deleted).
CREATE INDEX sessions_by_user ON sessions (user_id, started_at DESC);

-- Projection "resources": a member's votes, newest first (the export).
CREATE INDEX resource_votes_by_user ON resource_votes (user_id, voted_at DESC);

-- Projection "comments": a member's comments, newest first (the export).
CREATE INDEX comments_by_author ON comments (author_id, posted_at DESC);
