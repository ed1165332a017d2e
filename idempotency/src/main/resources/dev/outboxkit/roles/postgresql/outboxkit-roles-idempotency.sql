-- OutboxKit least-privilege roles (idempotency keys and inbox), for postgresql. Run by an administrator, connected to the
-- application's database, after the schema scripts (the tables must exist). Safe to run again.
-- Roles: outboxkit_writer (the application), outboxkit_relay (the polling relay), outboxkit_cdc (the CDC
-- relay). Grant a role to each service's own login user: see docs/roles.md.
-- Statements are separated by ';' on a line of its own.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'outboxkit_writer') THEN
        CREATE ROLE outboxkit_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'outboxkit_relay') THEN
        CREATE ROLE outboxkit_relay NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'outboxkit_cdc') THEN
        CREATE ROLE outboxkit_cdc NOLOGIN;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO outboxkit_writer, outboxkit_relay, outboxkit_cdc',
                   current_schema());
END
$$
;

-- The application looks keys up, records them, replaces expired ones and purges them in batches.
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_key TO outboxkit_writer
;

-- The consumer inbox records message ids, skips duplicates and purges expired ids.
GRANT SELECT, INSERT, UPDATE, DELETE ON inbox_message TO outboxkit_writer
;
