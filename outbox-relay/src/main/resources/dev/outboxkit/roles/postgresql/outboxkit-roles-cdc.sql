-- OutboxKit least-privilege roles (CDC relay tables and replication), for postgresql. Run by an administrator, connected to the
-- application's database, after the schema scripts (the tables must exist). Safe to run again.
-- Roles: outboxkit_writer (the application), outboxkit_relay (the polling relay), outboxkit_cdc (the CDC
-- relay's replication user, which Debezium logs in as), outboxkit_cdc_relay (the CDC relay's own statements,
-- its DataSource). Grant a role to each service's own login user: see docs/roles.md.
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
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'outboxkit_cdc_relay') THEN
        CREATE ROLE outboxkit_cdc_relay NOLOGIN;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO outboxkit_writer, outboxkit_relay, outboxkit_cdc,'
                   ' outboxkit_cdc_relay', current_schema());
END
$$
;

-- The CDC relay's lease and source offsets, written by its own statements (its DataSource), never by the
-- replication user: INSERT creates the engine's row once, UPDATE takes, renews and releases the lease and
-- stores the offsets. Rows are never deleted.
GRANT SELECT, INSERT, UPDATE ON outbox_cdc_state TO outboxkit_cdc_relay
;

-- Logical replication needs the REPLICATION attribute, which PostgreSQL never passes on through role
-- membership: give it to the CDC login user itself (ALTER ROLE cdc_user WITH REPLICATION; on RDS/Aurora
-- GRANT rds_replication TO cdc_user). The publication (CREATE PUBLICATION outboxkit_pub FOR TABLE
-- outbox_event WITH (publish = 'insert')) is created and owned by the administrator who owns the outbox
-- table: owning it would need ownership of the table, which the CDC user must not have.
-- REPLICATION lets that user decode the WAL of every table of the database: the publication limits what is
-- published, not what the user could read. See "What the replication user can see" in docs/roles.md.

-- The audit trail of operations on parked events (V0_7__outboxkit_audit.sql), written by the CDC relay's own
-- statements when parked events are listed, replayed or purged: append and read, never change or delete.
GRANT SELECT, INSERT ON outbox_audit TO outboxkit_cdc_relay
;
