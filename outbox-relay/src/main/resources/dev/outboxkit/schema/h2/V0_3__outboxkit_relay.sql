-- liquibase formatted sql
-- OutboxKit relay tables, version 3, for h2: partition leases and live relay instances.
-- Generated from RelaySchema.createStatements(OutboxDialect.h2(), ...default tables);
-- a test keeps the two identical. Statements are separated by ';' on a line of its own.

-- changeset outboxkit:outboxkit-3-h2 dbms:h2
CREATE TABLE IF NOT EXISTS outbox_relay_lease (
    partition_no INTEGER      NOT NULL PRIMARY KEY,
    owner_id     VARCHAR(255),
    epoch        BIGINT       DEFAULT 0 NOT NULL,
    expires_at   TIMESTAMP(6) WITH TIME ZONE
)
;

CREATE TABLE IF NOT EXISTS outbox_relay_member (
    member_id    VARCHAR(255) NOT NULL PRIMARY KEY,
    heartbeat_at TIMESTAMP(6) WITH TIME ZONE NOT NULL,
    expires_at   TIMESTAMP(6) WITH TIME ZONE NOT NULL
)
;
