-- A member's visible resource by its canonical URL. The merged lists (the
-- front page, a personal feed, their Atom and RSS forms) leave out a news
-- item that a member has shared as a resource of their own, so that it is
-- listed once, as the member's; the news lists still show the item.
CREATE INDEX resources_shared_by_canonical_url ON resources (canonical_url)
    WHERE source_id IS NULL AND NOT hidden AND NOT retracted;
