-- A public profile, with the member's karma: two primary-key lookups of
-- the sums the projections keep, never a count over the votes.
SELECT p.user_id, p.username, p.display_name, p.bio, p.website, p.registered_at,
       (coalesce(rk.votes, 0) + coalesce(ck.karma, 0))::bigint AS "karma!"
FROM user_profiles p
LEFT JOIN resource_karma rk ON rk.user_id = p.user_id
LEFT JOIN comment_karma ck ON ck.user_id = p.user_id
WHERE p.username = $1
