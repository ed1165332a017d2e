-- liquibase formatted sql
-- OutboxKit CDC relay tables, version 6, for mariadb: the lease holder of each CDC engine says in its
-- state row whether it holds its session lock. A standby takes the lease at once after a missed
-- renewal only when it does; otherwise after the lease TTL. Rows written by relays older than this
-- column keep the default (false), so during a rolling upgrade they are taken over by the TTL.
-- Adding a column with a constant default does not rewrite the table (PostgreSQL 11+, MySQL 8.0.12+,
-- MariaDB 10.3+), and the table holds one row per CDC engine. Needed only for outbox.relay.mode=cdc.
-- Generated from CdcSchema.upgradeStatements(OutboxDialect.mariadb(), ...default table);
-- a test keeps the two identical. Statements are separated by ';' on a line of its own.

-- changeset outboxkit:outboxkit-6-mariadb dbms:mariadb
ALTER TABLE outbox_cdc_state ADD COLUMN session_lock BOOLEAN NOT NULL DEFAULT FALSE
;
