-- Lists found by a 64-bit hash of their scope name (ADR 7). Comparing
-- text under the database's collation made every list index twice as slow
-- to build and to search as one on an integer: half the time of a replay.
-- The name stays in the row and in the primary key, and every read checks
-- it, so two names that hash alike (about one chance in 10^8 even with a
-- million lists) still never mix: their rows only share an index range.
CREATE FUNCTION resource_list_key(scope text)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN hashtextextended(scope, 0);

ALTER TABLE resource_listings
    ADD COLUMN scope_key bigint GENERATED ALWAYS AS (resource_list_key(scope)) STORED;

ALTER TABLE resource_listings DROP CONSTRAINT resource_listings_pkey;
DROP INDEX resource_listings_top, resource_listings_hot;
ALTER TABLE resource_listings ADD CONSTRAINT resource_listings_pkey
    PRIMARY KEY (scope_key, listed_at, scope);
CREATE INDEX resource_listings_top ON resource_listings (scope_key, votes DESC, listed_at DESC);
CREATE INDEX resource_listings_hot ON resource_listings (scope_key, hot DESC, listed_at DESC);

-- Without this the planner takes the key and the name for independent
-- conditions, expects a row or two, and may sort a whole list instead of
-- reading its index in order.
CREATE STATISTICS resource_listings_scope_key (dependencies)
    ON scope_key, scope FROM resource_listings;

-- A resource's list rows are found through the primary key, from the lists
-- it belongs to: one index fewer to write with every list row.
DROP INDEX resource_listings_by_resource;
