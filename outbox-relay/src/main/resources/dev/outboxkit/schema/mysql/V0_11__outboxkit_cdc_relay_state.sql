-- liquibase formatted sql
-- OutboxKit CDC relay tables, version 11, for mysql: the lease holder of each CDC engine reports in its
-- state row, at every lease renewal, when it renewed by the database's clock (heartbeat_at), its state
-- (relay_state: RUNNING, PAUSED, STALLED; on giving the lease up STOPPED, STANDBY or FAILED) and its
-- broker circuit breaker's state (circuit_state: CLOSED, OPEN, HALF_OPEN), so that the operator CLI's
-- 'status' and 'cdc', which read the tables from another process, can show them and judge how fresh
-- they are. All three are nullable: a row of a relay older than them reads NULL ("not reported").
-- Adding a nullable column does not rewrite the table, and the table holds one row per CDC engine; the
-- CDC relay's role already has UPDATE on it. Needed only for outbox.relay.mode=cdc.
-- Generated from CdcSchema.relayStateStatements(OutboxDialect.mysql(), ...default table);
-- a test keeps the two identical. Statements are separated by ';' on a line of its own.

-- changeset outboxkit:outboxkit-11-mysql dbms:mysql
ALTER TABLE outbox_cdc_state ADD COLUMN heartbeat_at DATETIME(6) NULL
;
ALTER TABLE outbox_cdc_state ADD COLUMN relay_state VARCHAR(16)
;
ALTER TABLE outbox_cdc_state ADD COLUMN circuit_state VARCHAR(16)
;
