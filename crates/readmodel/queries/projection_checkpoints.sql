SELECT projection, position, updated_at
FROM projection_checkpoints
ORDER BY projection
