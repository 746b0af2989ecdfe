-- Votes on comments (up or down), the counts a thread shows and sorts by,
-- and karma: the votes each member's resources and comments received,
-- kept as votes come and go so that a profile reads it by primary key.

-- Projection "comments": who voted which way on what. Each pair is one
-- vote; turning it the other way updates it.
CREATE TABLE comment_votes (
    comment_id  uuid NOT NULL,
    user_id     uuid NOT NULL,
    up          boolean NOT NULL,
    voted_at    timestamptz NOT NULL,
    PRIMARY KEY (comment_id, user_id)
);

-- Each comment's votes, read with its thread (no comment had any before).
ALTER TABLE comments
    ADD COLUMN upvotes   integer NOT NULL DEFAULT 0 CHECK (upvotes >= 0),
    ADD COLUMN downvotes integer NOT NULL DEFAULT 0 CHECK (downvotes >= 0);

-- Projection "comments": the karma a member's comments earned, upvotes
-- less downvotes (so it may be negative). A member whose comments never
-- had a vote has no row.
CREATE TABLE comment_karma (
    user_id  uuid PRIMARY KEY,
    karma    integer NOT NULL
);

-- Projection "resources": the upvotes a member's resources hold, derived
-- from `resource_votes` (a replay computes it once at the end, like the
-- vote counts). A member without any has no row. News items have no
-- author and earn no one karma.
CREATE TABLE resource_karma (
    user_id  uuid PRIMARY KEY,
    votes    integer NOT NULL CHECK (votes > 0)
);

INSERT INTO resource_karma (user_id, votes)
SELECT r.author_id, count(*)
FROM resource_votes v JOIN resources r ON r.id = v.resource_id
WHERE r.source_id IS NULL
GROUP BY r.author_id;

-- The lower bound of the Wilson score interval of a comment's share of
-- upvotes at z = 1.96 (95 %): `sort=top` ranks each level of a thread by
-- it. The reference, with the formula, is `wilson_lower_bound` in
-- crates/domain/src/comment_vote.rs, and a test holds the two equal.
CREATE FUNCTION comment_wilson(up integer, down integer) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN up + down = 0 THEN 0::float8 ELSE
    (up::float8 / (up + down) + 1.96 * 1.96 / (2 * (up + down))
     - 1.96 * sqrt((up::float8 / (up + down)) * (1 - up::float8 / (up + down)) / (up + down)
                   + 1.96 * 1.96 / (4.0 * (up + down) * (up + down))))
    / (1 + 1.96 * 1.96 / (up + down))
END;

-- One segment of a thread's `top` key: the score, highest first, as ten
-- digits, then the comment's own path segment (its position: oldest first
-- among equal scores).
CREATE FUNCTION comment_top_segment(up integer, down integer, path text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN lpad((1000000000 - round(comment_wilson(up, down) * 1000000000))::bigint::text, 10, '0')
    || right(path, 20);

-- One segment of a thread's `new` key: the comment's own path segment
-- with every digit complemented, so that the newest sorts first.
CREATE FUNCTION comment_new_segment(path text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN translate(right(path, 20), '0123456789', '9876543210');

-- Projection "comments": a member's votes on comments, newest first (the
-- export).
CREATE INDEX comment_votes_by_user ON comment_votes (user_id, voted_at DESC);
