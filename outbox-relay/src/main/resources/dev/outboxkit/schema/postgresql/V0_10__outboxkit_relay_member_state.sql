-- liquibase formatted sql
-- OutboxKit relay tables, version 10, for postgresql: each relay instance reports in its member row, at
-- every heartbeat, its lifecycle state (relay_state: RUNNING, PAUSED, STALLED, ...) and its broker
-- circuit breaker's state (circuit_state: CLOSED, OPEN, HALF_OPEN), so that the operator CLI's
-- 'status', which reads the tables from another process, can show them. Both columns are nullable:
-- rows of relays older than them read NULL ("not reported"). The member table holds one row per
-- relay instance, so adding them is quick; the relay's role already has UPDATE on the table.
-- Generated from RelaySchema.memberStateStatements(OutboxDialect.postgresql(), ...default tables);
-- a test keeps the two identical. Statements are separated by ';' on a line of its own.

-- changeset outboxkit:outboxkit-10-postgresql dbms:postgresql
ALTER TABLE outbox_relay_member ADD COLUMN IF NOT EXISTS relay_state VARCHAR(16)
;
ALTER TABLE outbox_relay_member ADD COLUMN IF NOT EXISTS circuit_state VARCHAR(16)
;
