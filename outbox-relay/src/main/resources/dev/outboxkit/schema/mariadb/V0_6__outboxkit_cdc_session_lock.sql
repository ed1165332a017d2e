-- liquibase formatted sql
-- OutboxKit CDC relay tables, version 6, for mariadb: the lease holder of each CDC engine names itself
-- in its state row while it holds its session lock. A standby takes the lease at once after a missed
-- renewal only from a holder named there; otherwise after the lease TTL. A name rather than a flag:
-- relays older than this column never write it, so a row they took over keeps another owner's name
-- (or none) and is never judged by it.
-- Adding a nullable column does not rewrite the table (PostgreSQL 11+, MySQL 8.0.12+, MariaDB 10.3+),
-- and the table holds one row per CDC engine. Needed only for outbox.relay.mode=cdc.
-- Generated from CdcSchema.upgradeStatements(OutboxDialect.mariadb(), ...default table);
-- a test keeps the two identical. Statements are separated by ';' on a line of its own.

-- changeset outboxkit:outboxkit-6-mariadb dbms:mariadb
ALTER TABLE outbox_cdc_state ADD COLUMN IF NOT EXISTS session_lock_owner VARCHAR(255) NULL
;
