SELECT pid AS "pid!",
       EXTRACT(EPOCH FROM now() - query_start)::float8 AS "seconds!",
       left(query, 300) AS "query!"
FROM pg_stat_activity
WHERE state = 'active'
  AND pid <> pg_backend_pid()
  AND query_start < now() - make_interval(secs => $1)
ORDER BY query_start
