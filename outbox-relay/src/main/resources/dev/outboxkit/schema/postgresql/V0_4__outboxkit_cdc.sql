-- liquibase formatted sql
-- OutboxKit CDC relay tables, version 4, for postgresql: the active/standby lease of each CDC engine and its
-- source offsets (written only by the lease holder).
-- Needed only for outbox.relay.mode=cdc.
-- Generated from CdcSchema.createStatements(OutboxDialect.postgresql(), ...default table);
-- a test keeps the two identical. Statements are separated by ';' on a line of its own.

-- changeset outboxkit:outboxkit-4-postgresql dbms:postgresql
CREATE TABLE IF NOT EXISTS outbox_cdc_state (
    name       VARCHAR(64)  NOT NULL PRIMARY KEY,
    owner_id   VARCHAR(255),
    epoch      BIGINT       NOT NULL DEFAULT 0,
    expires_at TIMESTAMPTZ,
    offsets    TEXT,
    updated_at TIMESTAMPTZ
)
;
