-- OutboxKit least-privilege roles (CDC relay tables and replication), for mariadb. Run by an administrator, connected to the
-- application's database (schema), after the schema scripts (the tables must exist). Safe to run again.
-- Roles: outboxkit_writer (the application), outboxkit_relay (the polling relay), outboxkit_cdc (the CDC
-- relay's replication user, which Debezium logs in as), outboxkit_cdc_relay (the CDC relay's own statements,
-- its DataSource). Grant a role to each service's own login user: see docs/roles.md.
-- Statements are separated by ';' on a line of its own.

CREATE ROLE IF NOT EXISTS outboxkit_writer, outboxkit_relay, outboxkit_cdc, outboxkit_cdc_relay
;

-- The CDC relay's lease, source offsets and the connector's schema history, written by its own statements
-- (its DataSource), never by the replication user: INSERT creates the engine's row once, UPDATE takes, renews
-- and releases the lease and stores the offsets; the history is appended to and read back. Nothing is deleted.
GRANT SELECT, INSERT, UPDATE ON outbox_cdc_state TO outboxkit_cdc_relay
;

GRANT SELECT, INSERT ON outbox_cdc_state_history TO outboxkit_cdc_relay
;

-- Reading the binlog as a replica: global privileges, no data access through SQL, but the binlog holds
-- the changes of every table of every database on the server (see "What the replication user can see" in
-- docs/roles.md) (REPLICATION CLIENT is MariaDB's
-- BINLOG MONITOR). RELOAD lets the first
-- start's snapshot take its short global read lock (FLUSH TABLES WITH READ LOCK), without which a
-- transaction committed during the snapshot could be in neither the snapshot nor the binlog read
-- after it (docs/cdc.md).
GRANT REPLICATION SLAVE, REPLICATION CLIENT, RELOAD ON *.* TO outboxkit_cdc
;

-- The audit trail of operations on parked events (V0_7__outboxkit_audit.sql), written by the CDC relay's own
-- statements when parked events are listed, replayed or purged: append and read, never change or delete.
GRANT SELECT, INSERT ON outbox_audit TO outboxkit_cdc_relay
;
