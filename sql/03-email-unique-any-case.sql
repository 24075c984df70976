-- Emails are unique regardless of case: `A@X.IO` and `a@x.io` are one
-- address (api-contract.md). Applied once, in one transaction with its
-- record in schema_migrations; like every applied file, never edited: a
-- later change is a new numbered file.
--
-- A database that already holds two addresses differing only in case
-- cannot get the index. Rather than fail half-way on the index build, the
-- check below names every colliding group, so an operator can merge or
-- rename them and start again.

DO $$
DECLARE
    collisions TEXT;
BEGIN
    SELECT string_agg(format('%s (users %s)', address, ids), '; ')
    INTO collisions
    FROM (SELECT lower(email) AS address, string_agg(id::text, ', ' ORDER BY id) AS ids
          FROM users GROUP BY lower(email) HAVING count(*) > 1) AS same;
    IF collisions IS NOT NULL THEN
        RAISE EXCEPTION 'emails that differ only in case must be merged before this migration: %', collisions
            USING HINT = 'change or remove all but one user of each address, then start the service again';
    END IF;
END
$$;

CREATE UNIQUE INDEX IF NOT EXISTS users_email_lower_key ON users (lower(email));
