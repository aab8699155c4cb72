ALTER TABLE meta.loads DROP COLUMN IF EXISTS lines_read;
