-- Projection "sites": each resource's site (the host of its URL, see
-- `domain::site::Site`; ADR 20) and whether everyone may see it, and per
-- site how many visible resources it has. GET /v1/domains/{domain} and its
-- Atom feed read a page of one site's resources from
-- `site_resources_newest` and the items themselves from `resources`. A new
-- projection: its checkpoint starts at 0, so it builds from the whole log.
CREATE TABLE site_resources (
    resource_id uuid    PRIMARY KEY,
    site        text    NOT NULL,
    -- Stream position of the submission, as `resources.listed_at`.
    listed_at   bigint  NOT NULL,
    hidden      boolean NOT NULL DEFAULT false,
    retracted   boolean NOT NULL DEFAULT false
);

-- A site's visible resources, newest first: one index range per page.
CREATE INDEX site_resources_newest ON site_resources (site, listed_at DESC)
    WHERE NOT hidden AND NOT retracted;

CREATE TABLE site_counts (
    site      text PRIMARY KEY,
    -- Visible resources (neither hidden nor retracted).
    resources integer NOT NULL
);
