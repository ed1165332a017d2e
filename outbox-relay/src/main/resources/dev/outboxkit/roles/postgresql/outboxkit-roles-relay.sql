-- OutboxKit least-privilege roles (polling relay tables), for postgresql. Run by an administrator, connected to the
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

-- Partition leases (heartbeat, expiry, epoch) and live relay instances: only the relay touches them.
GRANT SELECT, INSERT, UPDATE, DELETE ON outbox_relay_lease TO outboxkit_relay
;

GRANT SELECT, INSERT, UPDATE, DELETE ON outbox_relay_member TO outboxkit_relay
;

-- The audit trail of operations on parked events (V0_7__outboxkit_audit.sql): append and read, never
-- change or delete.
GRANT SELECT, INSERT ON outbox_audit TO outboxkit_relay
;
