SELECT tag, resources
FROM tag_counts
WHERE (resources, tag) < ($1, $2) AND resources > 0
ORDER BY resources DESC, tag DESC
LIMIT $3
