-- OutboxKit least-privilege roles (outbox table), for mariadb. Run by an administrator, connected to the
-- application's database (schema), after the schema scripts (the tables must exist). Safe to run again.
-- Roles: outboxkit_writer (the application), outboxkit_relay (the polling relay), outboxkit_cdc (the CDC
-- relay). Grant a role to each service's own login user: see docs/roles.md.
-- Statements are separated by ';' on a line of its own.

CREATE ROLE IF NOT EXISTS outboxkit_writer, outboxkit_relay, outboxkit_cdc
;

-- The application appends events; it never reads, changes or deletes them.
GRANT INSERT ON outbox_event TO outboxkit_writer
;

-- The polling relay claims (SELECT ... FOR UPDATE SKIP LOCKED), marks (UPDATE) and deletes published rows.
GRANT SELECT, UPDATE, DELETE ON outbox_event TO outboxkit_relay
;

-- CDC reads the outbox's changes from the change log; SELECT lets it read the table's structure
-- (and snapshot it, if ever configured to).
GRANT SELECT ON outbox_event TO outboxkit_cdc
;
