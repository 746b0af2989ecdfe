-- Read models built by the projectors. Every table here is derived from the
-- event log and can be rebuilt from it; none is ever written by a request.

-- The last stream position each projection has applied. Written in the same
-- transaction as the projection's rows, so rows and checkpoint never disagree.
CREATE TABLE projection_checkpoints (
    projection  text PRIMARY KEY,
    position    bigint NOT NULL CHECK (position >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Events a projection could not apply. The projection moves past them; an
-- operator inspects and retries them.
CREATE TABLE dead_letters (
    projection   text NOT NULL,
    position     bigint NOT NULL,
    subject      text NOT NULL,
    event_type   text,
    payload      bytea NOT NULL,
    error        text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, position)
);

-- Projection "users": what login needs.
CREATE TABLE user_credentials (
    user_id        uuid PRIMARY KEY,
    username       text NOT NULL UNIQUE,
    email          text NOT NULL UNIQUE,
    password_hash  text NOT NULL,
    registered_at  timestamptz NOT NULL
);

-- Projection "resources": resources, their authors' public names, and one
-- row per (tag, resource) so a tag's newest-first page is one index range.
CREATE TABLE resource_authors (
    user_id   uuid PRIMARY KEY,
    username  text NOT NULL
);

CREATE TABLE resources (
    id           uuid PRIMARY KEY,
    -- Stream position of the submission: unique and increasing, so it is the
    -- newest-first keyset key.
    listed_at    bigint NOT NULL UNIQUE,
    title        text NOT NULL,
    url          text NOT NULL,
    description  text NOT NULL,
    tags         text[] NOT NULL,
    kind         text NOT NULL,
    author_id    uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    version      integer NOT NULL
);

CREATE TABLE resource_tags (
    tag          text NOT NULL,
    listed_at    bigint NOT NULL,
    resource_id  uuid NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    PRIMARY KEY (tag, listed_at)
);
