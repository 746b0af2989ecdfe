-- Every list a resource appears in, every way it can be sorted; full-text
-- search; comments; bookmarks.

-- A time-independent "hot" score: votes decayed by age, as a score that a
-- newer resource needs fewer votes to match (each 12.5 hours of age costs a
-- factor of ten in votes). Fixed until the resource's votes change, so it
-- can be indexed.
CREATE FUNCTION resource_hot(votes integer, created_at timestamptz)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN log(greatest(votes, 1)::double precision) + extract(epoch FROM created_at)::double precision / 45000;

-- Projection "resources": one row per (list, resource) for every resource
-- everyone may see. A list is a scope: 'all', 'tag:<tag>', 'kind:<kind>' or
-- 'author:<user id>'. Each sort of each list is one index range.
CREATE TABLE resource_listings (
    scope        text NOT NULL,
    listed_at    bigint NOT NULL,
    resource_id  uuid NOT NULL,
    votes        integer NOT NULL,
    hot          double precision NOT NULL,
    PRIMARY KEY (scope, listed_at)
);
CREATE INDEX resource_listings_top ON resource_listings (scope, votes DESC, listed_at DESC);
CREATE INDEX resource_listings_hot ON resource_listings (scope, hot DESC, listed_at DESC);
CREATE INDEX resource_listings_by_resource ON resource_listings (resource_id);

INSERT INTO resource_listings (scope, listed_at, resource_id, votes, hot)
SELECT s.scope, r.listed_at, r.id, r.votes, resource_hot(r.votes, r.created_at)
FROM resources r
CROSS JOIN LATERAL (
    SELECT 'all'
    UNION ALL SELECT 'tag:' || t FROM unnest(r.tags) AS t
    UNION ALL SELECT 'kind:' || r.kind
    UNION ALL SELECT 'author:' || r.author_id
) AS s (scope)
WHERE NOT r.hidden AND NOT r.retracted;

-- Tags with the number of visible resources that carry them.
CREATE TABLE tag_counts (
    tag        text PRIMARY KEY,
    resources  integer NOT NULL CHECK (resources >= 0)
);
CREATE INDEX tag_counts_by_count ON tag_counts (resources DESC, tag DESC);

INSERT INTO tag_counts (tag, resources)
SELECT substr(scope, 5), count(*) FROM resource_listings WHERE scope LIKE 'tag:%' GROUP BY 1;

-- The per-tag rows now live in resource_listings.
DROP TABLE resource_tags;

-- Full-text search: titles and tags weigh more than descriptions.
ALTER TABLE resources ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english'::regconfig, title), 'A')
    || setweight(array_to_tsvector(tags), 'A')
    || setweight(to_tsvector('english'::regconfig, description), 'B')
) STORED;
CREATE INDEX resources_search ON resources USING gin (search)
    WHERE NOT hidden AND NOT retracted;

-- Projection "comments": threaded by a materialised path of stream
-- positions, so a thread reads depth-first, oldest first, from one index.
CREATE TABLE comments (
    id           uuid PRIMARY KEY,
    resource_id  uuid NOT NULL,
    parent_id    uuid,
    author_id    uuid NOT NULL,
    body         text NOT NULL,
    path         text NOT NULL,
    depth        integer NOT NULL,
    posted_at    timestamptz NOT NULL,
    edited_at    timestamptz,
    -- Deleted by its author or removed by a moderator: the body is gone,
    -- the place in the thread stays.
    gone         boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX comments_by_thread ON comments (resource_id, path);

-- Projection "bookmarks": private to each user, newest first.
CREATE TABLE bookmarks (
    user_id        uuid NOT NULL,
    resource_id    uuid NOT NULL,
    position       bigint NOT NULL,
    bookmarked_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, resource_id)
);
CREATE UNIQUE INDEX bookmarks_newest ON bookmarks (user_id, position DESC);

-- The author's public name on each resource, so that reading a resource or
-- a page of them is one table, not a join; kept by the same projection
-- (NULL once the author deleted their account).
ALTER TABLE resources ADD COLUMN author_username text;
UPDATE resources r SET author_username = a.username
FROM resource_authors a WHERE a.user_id = r.author_id;
