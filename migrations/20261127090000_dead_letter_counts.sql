-- How many dead letters each projection has, kept in the checkpoint row in
-- the same transactions that add and remove them, so status and metrics read
-- one small row instead of counting the dead-letter table.
ALTER TABLE projection_checkpoints
    ADD COLUMN dead_letters bigint NOT NULL DEFAULT 0 CHECK (dead_letters >= 0);
