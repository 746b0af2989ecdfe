-- The moderation queue, most flagged first, then oldest: one range of
-- `flag_queue_most_flagged` after the keyset ($1, $2) = (-flags,
-- queued_at), each entry's reasons tallied from its own flags (a range of
-- their primary key) and its resource's title by id.
SELECT q.target_id, q.target_kind, q.resource_id, r.title AS "resource_title?",
       q.flags, q.held, q.queued_at, q.first_flagged_at,
       (SELECT coalesce(jsonb_object_agg(t.reason, t.n), '{}')
        FROM (SELECT f.reason, count(*) AS n FROM flags f
              WHERE f.target_id = q.target_id GROUP BY f.reason) AS t) AS "reasons!"
FROM flag_queue q
LEFT JOIN resources r ON r.id = q.resource_id
WHERE (-q.flags, q.queued_at) > ($1, $2)
ORDER BY -q.flags, q.queued_at
LIMIT $3
