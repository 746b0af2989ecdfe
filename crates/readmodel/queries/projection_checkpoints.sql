SELECT projection, position, updated_at, dead_letters
FROM projection_checkpoints
ORDER BY projection
