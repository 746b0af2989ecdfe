-- Flags (issue #25, point 4; ADR 21). A resource that enough distinct
-- members flagged is held for review: out of every public list (the lists,
-- tags, news, feeds, search and site pages) until a moderator keeps it
-- (`flags.dismissed`) or hides it. The hold is the resources projection's
-- to keep, beside `hidden`; nothing is flagged yet, so every row starts
-- unheld and no view needs rebuilding.
ALTER TABLE resources ADD COLUMN held boolean NOT NULL DEFAULT false;

-- Projection "flags": the open flags, one per member and flagged thing,
-- and the moderation queue: one entry per thing with open flags or held.
-- A new projection: its checkpoint starts at 0, so it builds from the
-- whole log.
CREATE TABLE flags (
    target_id   uuid        NOT NULL,
    -- 'resource' or 'comment'.
    target_kind text        NOT NULL,
    user_id     uuid        NOT NULL,
    reason      text        NOT NULL,
    at          timestamptz NOT NULL,
    PRIMARY KEY (target_id, user_id)
);

-- A member's open flags, newest first (the export).
CREATE INDEX flags_by_user ON flags (user_id, at DESC);

CREATE TABLE flag_queue (
    target_id        uuid        PRIMARY KEY,
    -- 'resource' or 'comment'.
    target_kind      text        NOT NULL,
    -- The resource flagged, or the one the comment is on.
    resource_id      uuid        NOT NULL,
    -- Open flags.
    flags            integer     NOT NULL,
    held             boolean     NOT NULL,
    -- Stream position of the flag that opened the entry: "oldest first"
    -- among equals, and with `flags` the queue's keyset.
    queued_at        bigint      NOT NULL,
    first_flagged_at timestamptz NOT NULL
);

-- Most flagged first, then oldest: one index range per page, the keyset
-- compared as a row, so the whole of it bounds the range.
CREATE INDEX flag_queue_most_flagged ON flag_queue ((-flags), queued_at);

-- A retracted resource's entries (its own and its comments') go with it.
CREATE INDEX flag_queue_by_resource ON flag_queue (resource_id);
