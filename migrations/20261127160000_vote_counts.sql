-- Vote counts in a narrow table of their own (ADR 7). A vote used to
-- rewrite its resource's whole row, search document included: the slowest
-- write of the resources projection, live and in a replay. A count row is a
-- tenth of the size, and a replay derives them all in one pass at the end.
-- A resource without votes has no row.
CREATE TABLE resource_vote_counts (
    resource_id  uuid PRIMARY KEY,
    votes        integer NOT NULL CHECK (votes > 0)
);

INSERT INTO resource_vote_counts (resource_id, votes)
SELECT id, votes FROM resources WHERE votes > 0;

ALTER TABLE resources DROP COLUMN votes;
