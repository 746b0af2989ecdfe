-- A site's count of resources leaves out those held for review by their
-- flags (ADR 21), as its page always did: the sites projection now reads
-- the holds too (`flags.raised` that hold a resource, `flags.dismissed`),
-- and a hiding ends a hold as it does in `resources`. Flags and sites came
-- in the same release, so no deployment has a hold to rebuild.
ALTER TABLE site_resources ADD COLUMN held boolean NOT NULL DEFAULT false;

DROP INDEX site_resources_newest;
CREATE INDEX site_resources_newest ON site_resources (site, listed_at DESC)
    WHERE NOT hidden AND NOT retracted AND NOT held;
