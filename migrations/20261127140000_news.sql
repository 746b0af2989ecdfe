-- The tech news feed: items found in news sources are resources without an
-- author, kept by the resources projection in lists of their own; the
-- sources and how polling them goes are the news projection's.

-- Projection "resources": a news item names its source (both NULL for a
-- member's resource). Its author_id is the nil uuid.
ALTER TABLE resources ADD COLUMN source_id uuid, ADD COLUMN source_title text;

-- Projection "news": the sources admins manage. `listed_at` is the stream
-- position of the source's addition (the newest-first keyset key);
-- `position` that of the last event applied to the row, which the
-- ingester compares with its own reports.
CREATE TABLE news_sources (
    id                     uuid PRIMARY KEY,
    listed_at              bigint NOT NULL,
    url                    text NOT NULL,
    title                  text,
    feed_title             text,
    tags                   text[] NOT NULL,
    poll_interval_seconds  integer NOT NULL,
    status                 text NOT NULL DEFAULT 'pending'
                           CHECK (status IN ('pending', 'ok', 'failing')),
    last_error             text,
    last_fetched_at        timestamptz,
    consecutive_failures   integer NOT NULL DEFAULT 0,
    items                  integer NOT NULL DEFAULT 0,
    next_fetch_at          timestamptz NOT NULL,
    added_at               timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    removed                boolean NOT NULL DEFAULT false,
    position               bigint NOT NULL
);
-- The admins' list, newest first.
CREATE UNIQUE INDEX news_sources_newest ON news_sources (listed_at DESC) WHERE NOT removed;
-- The ingester's question: which sources are due?
CREATE INDEX news_sources_due ON news_sources (next_fetch_at) WHERE NOT removed;
