-- Every physical line of a CSV input is accounted for: lines_read is the
-- number of physical lines of the file the loader read (header, empty lines
-- and every line of a record that spans lines included; a last line without
-- a line break counts). For a loaded file it is the file's line count; for a
-- failed one, the lines read before the failure. NULL for inputs that have
-- no lines (Parquet files, HTTP API responses) and for loads recorded before
-- this column existed.
ALTER TABLE meta.loads ADD COLUMN lines_read bigint CHECK (lines_read >= 0);
COMMENT ON COLUMN meta.loads.lines_read IS 'Physical lines of a CSV input read by the loader (header and empty lines included); NULL for Parquet and API inputs.';
