-- liquibase formatted sql
-- OutboxKit outbox table, version 9, for postgresql: autovacuum settings for a queue table. Every row is
-- deleted soon after its insert, so dead rows pile up at the head of the indexes every read starts from;
-- the server's defaults wait for 20 % of the table to be dead (2 M deletes at a 10 M backlog) and throttle
-- the vacuum. These start a vacuum after 20,000 dead rows and do not throttle it on this table. Storage
-- parameters: no restart, no rewrite; ALTER TABLE ... RESET (...) undoes them. Only PostgreSQL has this
-- version (MySQL, MariaDB and H2 have no per-table vacuum settings). Why: docs/benchmarks.md, "Autovacuum
-- for the outbox table". Generated from RelaySchema.outboxStorageStatements(OutboxDialect.postgresql(),
-- OutboxTable.DEFAULT); a test keeps the two identical. Statements are separated by ';' on a line of its own.

-- changeset outboxkit:outboxkit-9-postgresql dbms:postgresql
ALTER TABLE outbox_event SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 20000,
    autovacuum_vacuum_cost_delay = 0,
    autovacuum_analyze_scale_factor = 0,
    autovacuum_analyze_threshold = 100000
)
;
