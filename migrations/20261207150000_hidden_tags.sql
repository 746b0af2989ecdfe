-- Projection "users": the tags each member hides (ADR 23). A member's
-- lists are read with this set in hand, one primary-key range per request.
CREATE TABLE hidden_tags (
    user_id  uuid NOT NULL,
    tag      text NOT NULL,
    PRIMARY KEY (user_id, tag)
);
