-- Projection "history": every revision of every member's resource (its
-- submission, then each edit), as `resource.submitted` and
-- `resource.edited` left its editable fields, and the names of those who
-- made them. GET /v1/resources/{id}/history compares each edit with the
-- revision before it. A new projection: its checkpoint starts at 0, so it
-- builds from the whole log, edits made before it existed included.
CREATE TABLE resource_revisions (
    resource_id uuid        NOT NULL,
    -- Stream position of the event: the keyset key, in both orders.
    position    bigint      NOT NULL,
    -- false for the submission, true for an edit.
    edit        boolean     NOT NULL,
    editor_id   uuid        NOT NULL,
    at          timestamptz NOT NULL,
    title       text        NOT NULL,
    description text        NOT NULL,
    tags        text[]      NOT NULL,
    kind        text        NOT NULL,
    PRIMARY KEY (resource_id, position)
);

-- Who made a revision, by name; `user.deleted` removes the row, so an
-- erased member's edits show no name (as a replay, which reads the
-- registration's name as erased, and then the deletion, also leaves).
CREATE TABLE revision_editors (
    user_id  uuid PRIMARY KEY,
    username text NOT NULL
);
