-- Views of the complete write side: who may do what, sessions, profiles,
-- follows, votes, edits, moderation.

-- Projection "users": a user's standing, checked on every authenticated
-- request, and the sessions that still hold.
CREATE TABLE user_access (
    user_id    uuid PRIMARY KEY,
    username   text NOT NULL,
    roles      text[] NOT NULL DEFAULT '{}',
    suspended  boolean NOT NULL DEFAULT false
);

CREATE TABLE sessions (
    session_id  uuid PRIMARY KEY,
    user_id     uuid NOT NULL,
    started_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    ended_at    timestamptz
);
-- "Log out everywhere" ends a user's open sessions.
CREATE INDEX sessions_open_by_user ON sessions (user_id) WHERE ended_at IS NULL;

CREATE TABLE user_profiles (
    user_id       uuid PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    display_name  text NOT NULL DEFAULT '',
    bio           text NOT NULL DEFAULT '',
    website       text NOT NULL DEFAULT '',
    registered_at timestamptz NOT NULL
);

CREATE TABLE followed_tags (
    user_id  uuid NOT NULL,
    tag      text NOT NULL,
    PRIMARY KEY (user_id, tag)
);

CREATE TABLE followed_users (
    user_id      uuid NOT NULL,
    followee_id  uuid NOT NULL,
    PRIMARY KEY (user_id, followee_id)
);
CREATE INDEX followed_users_by_followee ON followed_users (followee_id);

-- Projection "resources": a deleted author keeps their id but loses their
-- name (NULL: shown as a tombstone).
ALTER TABLE resource_authors ALTER COLUMN username DROP NOT NULL;

ALTER TABLE resources
    ADD COLUMN canonical_url text,
    ADD COLUMN votes integer NOT NULL DEFAULT 0 CHECK (votes >= 0),
    ADD COLUMN hidden boolean NOT NULL DEFAULT false,
    ADD COLUMN retracted boolean NOT NULL DEFAULT false;

CREATE TABLE resource_votes (
    resource_id  uuid NOT NULL,
    user_id      uuid NOT NULL,
    voted_at     timestamptz NOT NULL,
    PRIMARY KEY (resource_id, user_id)
);

-- The public moderation log, in the order the actions were recorded.
CREATE TABLE moderation_log (
    position      bigint PRIMARY KEY,
    action        text NOT NULL,
    subject_kind  text NOT NULL,
    subject_id    uuid NOT NULL,
    reason        text NOT NULL,
    moderator_id  uuid,
    at            timestamptz NOT NULL
);

-- An author's resources: their list, and every view to refresh when the
-- author's public name changes or goes.
CREATE INDEX resources_by_author ON resources (author_id, listed_at DESC);
