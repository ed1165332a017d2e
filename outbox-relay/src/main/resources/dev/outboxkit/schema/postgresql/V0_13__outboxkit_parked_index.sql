-- liquibase formatted sql
-- OutboxKit outbox table, version 13, for postgresql: a partial index of the parked rows (status DEAD) by seq
-- and created_at. The pending indexes are partial, so without it every statement that looks for parked rows
-- reads the whole table, however few are parked: the parked gauges' count (once a minute), listings, bulk
-- replay and purge, retention. Rows are inserted pending and deleted or marked published, so only a park adds
-- an entry. PostgreSQL blocks appends while it builds an index: on a large table run the statement with
-- CONCURRENTLY first, outside a transaction (this script then does nothing). See docs/upgrading.md.
-- Only PostgreSQL has this version (MySQL, MariaDB and H2 have an index that leads with status since version 1).
-- Generated from RelaySchema.parkedIndexStatements(OutboxDialect.postgresql(), OutboxTable.DEFAULT);
-- a test keeps the two identical. Statements are separated by ';' on a line of its own.

-- changeset outboxkit:outboxkit-13-postgresql dbms:postgresql
CREATE INDEX IF NOT EXISTS outbox_event_parked_idx ON outbox_event (seq, created_at) WHERE status = 'DEAD'
;
