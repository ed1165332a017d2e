-- OutboxKit least-privilege roles (outbox table), for mysql. Run by an administrator, connected to the
-- application's database (schema), after the schema scripts (the tables must exist). Safe to run again.
-- Roles: outboxkit_writer (the application), outboxkit_relay (the polling relay), outboxkit_cdc (the CDC
-- relay's replication user, which Debezium logs in as), outboxkit_cdc_relay (the CDC relay's own statements,
-- its DataSource). Grant a role to each service's own login user: see docs/roles.md.
-- Statements are separated by ';' on a line of its own.

CREATE ROLE IF NOT EXISTS outboxkit_writer, outboxkit_relay, outboxkit_cdc, outboxkit_cdc_relay
;

-- The application appends events; it never reads, changes or deletes them.
GRANT INSERT ON outbox_event TO outboxkit_writer
;

-- The polling relay claims (SELECT ... FOR UPDATE SKIP LOCKED), marks (UPDATE) and deletes published rows;
-- a replay of a parked event replaces its row by a pending copy with a new seq (DELETE, then INSERT), so the
-- replayed event goes to the end of its key's queue and never overtakes a later event of its key.
GRANT SELECT, INSERT, UPDATE, DELETE ON outbox_event TO outboxkit_relay
;

-- The replication user (Debezium) reads the outbox's changes from the change log; SELECT lets it read the
-- table's structure and take the first start's snapshot of rows already there.
GRANT SELECT ON outbox_event TO outboxkit_cdc
;

-- The CDC relay's own statements: SELECT (parked events, attempts recorded on failed rows, backlog and lag),
-- INSERT (a parked copy of a row its writer already deleted; replay re-inserts a parked row so it appears in
-- the change log again), UPDATE (park a row, record a failed attempt, mark a row published when rows are
-- kept) and DELETE (published rows, purge, replay, expiry of kept published rows). See docs/roles.md.
GRANT SELECT, INSERT, UPDATE, DELETE ON outbox_event TO outboxkit_cdc_relay
;
