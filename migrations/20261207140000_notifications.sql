-- Projection "notifications": each member's inbox (replies to their
-- comments, comments on their resources, `@username` mentions, their
-- resources hidden or restored by a moderator), and what it needs to know
-- to fill it: members' names and standing, resources' submitters and
-- titles, comments' authors. A new projection: its checkpoint starts at 0,
-- so it builds from the whole log, the past before it existed included.

-- Members by name (mentions are resolved here), their standing (a
-- suspended member's actions notify no one) and how far they have read.
-- `user.deleted` removes the row: an erased member is told nothing and
-- named nowhere.
CREATE TABLE notification_members (
    user_id    uuid PRIMARY KEY,
    username   text    NOT NULL,
    suspended  boolean NOT NULL DEFAULT false,
    -- `user.notifications-read`: every notification at or before it is read.
    read_up_to bigint  NOT NULL DEFAULT 0
);
-- Not unique: in a replay, erased members' names all read as placeholders.
CREATE INDEX notification_members_by_username ON notification_members (username);

-- Who submitted a resource (told of comments and of moderation), and its
-- title as it reads now (where a notification happened).
CREATE TABLE notification_resources (
    resource_id  uuid PRIMARY KEY,
    submitter_id uuid,
    title        text NOT NULL
);

-- Who wrote a comment: a reply tells its parent's author.
CREATE TABLE notification_comments (
    comment_id  uuid PRIMARY KEY,
    author_id   uuid NOT NULL,
    resource_id uuid NOT NULL
);

-- One row per recipient and event: a reply that also mentions its
-- parent's author tells them once, as a reply.
CREATE TABLE notifications (
    recipient_id uuid        NOT NULL,
    -- The stream position of the event: the keyset key (newest first),
    -- the SSE id, and what `read_up_to` compares with.
    position     bigint      NOT NULL,
    -- reply, comment, mention, hidden, restored.
    kind         text        NOT NULL,
    -- Who acted; absent when the operator did, from the command line.
    actor_id     uuid,
    resource_id  uuid        NOT NULL,
    comment_id   uuid,
    at           timestamptz NOT NULL,
    PRIMARY KEY (recipient_id, position)
);
-- A deleted or removed comment's notifications go.
CREATE INDEX notifications_by_comment ON notifications (comment_id)
    WHERE comment_id IS NOT NULL;
-- A suspended or erased member's notifications of others go.
CREATE INDEX notifications_by_actor ON notifications (actor_id);
-- A text tells a member once, however often it is edited: a comment (as
-- a reply, a comment on their resource or a mention) is keyed by the
-- comment, a description's mention by the resource.
CREATE UNIQUE INDEX notifications_once_per_text
    ON notifications (recipient_id, coalesce(comment_id, resource_id))
    WHERE kind IN ('reply', 'comment', 'mention');
