-- liquibase formatted sql
-- OutboxKit relay tables, version 5, for postgresql: each live relay instance says in its member row
-- whether it holds its session lock. Others take its partitions at once after a missed heartbeat
-- only when it does; otherwise after the lease TTL. Rows of relays older than this column keep the
-- default (false), so during a rolling upgrade they are taken over by the TTL, never early.
-- Adding a column with a constant default does not rewrite the table (PostgreSQL 11+, MySQL 8.0.12+,
-- MariaDB 10.3+), and the table holds one row per relay instance.
-- Generated from RelaySchema.upgradeStatements(OutboxDialect.postgresql(), ...default tables);
-- a test keeps the two identical. Statements are separated by ';' on a line of its own.

-- changeset outboxkit:outboxkit-5-postgresql dbms:postgresql
ALTER TABLE outbox_relay_member ADD COLUMN IF NOT EXISTS session_lock BOOLEAN NOT NULL DEFAULT FALSE
;
