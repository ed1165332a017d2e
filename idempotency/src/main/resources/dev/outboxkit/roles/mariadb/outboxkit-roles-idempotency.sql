-- OutboxKit least-privilege roles (idempotency keys and inbox), for mariadb. Run by an administrator, connected to the
-- application's database (schema), after the schema scripts (the tables must exist). Safe to run again.
-- Roles: outboxkit_writer (the application), outboxkit_relay (the polling relay), outboxkit_cdc (the CDC
-- relay). Grant a role to each service's own login user: see docs/roles.md.
-- Statements are separated by ';' on a line of its own.

CREATE ROLE IF NOT EXISTS outboxkit_writer, outboxkit_relay, outboxkit_cdc
;

-- The application looks keys up, records them, replaces expired ones and purges them in batches.
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_key TO outboxkit_writer
;

-- The consumer inbox records message ids, skips duplicates and purges expired ids.
GRANT SELECT, INSERT, UPDATE, DELETE ON inbox_message TO outboxkit_writer
;
