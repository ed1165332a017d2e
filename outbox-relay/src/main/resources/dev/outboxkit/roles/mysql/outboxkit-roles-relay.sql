-- OutboxKit least-privilege roles (polling relay tables), for mysql. Run by an administrator, connected to the
-- application's database (schema), after the schema scripts (the tables must exist). Safe to run again.
-- Roles: outboxkit_writer (the application), outboxkit_relay (the polling relay), outboxkit_cdc (the CDC
-- relay). Grant a role to each service's own login user: see docs/roles.md.
-- Statements are separated by ';' on a line of its own.

CREATE ROLE IF NOT EXISTS outboxkit_writer, outboxkit_relay, outboxkit_cdc
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
