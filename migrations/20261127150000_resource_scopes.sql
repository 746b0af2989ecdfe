-- Cheaper resource rows to write, for replays above all.
--
-- `resource_hot` again, as a plain SQL expression of immutable parts only,
-- so the planner inlines it (the previous body called the stable
-- `extract(epoch FROM timestamptz)`, which kept it a per-row function call,
-- six times slower). Same values.
CREATE OR REPLACE FUNCTION resource_hot(votes integer, created_at timestamptz)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT log(greatest(votes, 1)::double precision)
         + date_part('epoch', created_at - timestamptz '1970-01-01 00:00:00+00') / 45000
$$;

-- The lists a visible resource belongs to (ADR 6; news items, ADR 8): one
-- definition for the projection's batch-by-batch upkeep and for deriving
-- every list at once at the end of a replay. Inlined by the planner.
CREATE FUNCTION resource_scopes(source_id uuid, tags text[], kind text, author_id uuid)
RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT 'all' WHERE source_id IS NULL
    UNION ALL SELECT 'tag:' || t FROM unnest(tags) AS t WHERE source_id IS NULL
    UNION ALL SELECT 'kind:' || kind WHERE source_id IS NULL
    UNION ALL SELECT 'author:' || author_id::text WHERE source_id IS NULL
    UNION ALL SELECT 'news' WHERE source_id IS NOT NULL
    UNION ALL SELECT 'news:source:' || source_id::text WHERE source_id IS NOT NULL
    UNION ALL SELECT 'news:tag:' || t FROM unnest(tags) AS t WHERE source_id IS NOT NULL
$$;

-- The search document, no longer a generated column: Postgres recomputes a
-- stored generated column on every update of its row, and every vote
-- updates one. The projection writes it when the text changes.
CREATE FUNCTION resource_search(title text, tags text[], description text)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT setweight(to_tsvector('english'::regconfig, title), 'A')
        || setweight(array_to_tsvector(tags), 'A')
        || setweight(to_tsvector('english'::regconfig, description), 'B')
$$;

DROP INDEX resources_search;
ALTER TABLE resources DROP COLUMN search;
ALTER TABLE resources ADD COLUMN search tsvector;
UPDATE resources SET search = resource_search(title, tags, description);
CREATE INDEX resources_search ON resources USING gin (search)
    WHERE NOT hidden AND NOT retracted;
