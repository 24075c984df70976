-- A row's updated_at is its version: the ETag of a user, product or order
-- is its id and updated_at, and If-Match compares updated_at in the very
-- statement that writes. now() is the transaction's start, so two
-- transactions that began in the same microsecond and updated one row in
-- turn gave it the same updated_at twice: two versions, one tag. The time
-- of the statement, and at least a microsecond past the version before,
-- makes every update a new tag.
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := greatest(clock_timestamp(), OLD.updated_at + interval '1 microsecond');
    RETURN NEW;
END;
$$;
