-- liquibase formatted sql
-- OutboxKit relay tables, version 3, for postgresql: partition leases, live relay instances, and a
-- statement-level trigger that NOTIFYs relays (channel = outbox table name) when events are appended.
-- Generated from RelaySchema.createStatements(OutboxDialect.postgresql(), ...default tables);
-- a test keeps the two identical. Statements are separated by ';' on a line of its own.

-- changeset outboxkit:outboxkit-3-postgresql dbms:postgresql
CREATE TABLE IF NOT EXISTS outbox_relay_lease (
    partition_no INTEGER      NOT NULL PRIMARY KEY,
    owner_id     VARCHAR(255),
    epoch        BIGINT       NOT NULL DEFAULT 0,
    expires_at   TIMESTAMPTZ
)
;

CREATE TABLE IF NOT EXISTS outbox_relay_member (
    member_id    VARCHAR(255) NOT NULL PRIMARY KEY,
    heartbeat_at TIMESTAMPTZ  NOT NULL,
    expires_at   TIMESTAMPTZ  NOT NULL
)
;

-- changeset outboxkit:outboxkit-3-postgresql-notify-function dbms:postgresql splitStatements:false
CREATE OR REPLACE FUNCTION outboxkit_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_NAME, '');
    RETURN NULL;
END
$$
;

-- changeset outboxkit:outboxkit-3-postgresql-notify-trigger dbms:postgresql
DROP TRIGGER IF EXISTS outbox_event_notify ON outbox_event
;

CREATE TRIGGER outbox_event_notify AFTER INSERT ON outbox_event
    FOR EACH STATEMENT EXECUTE FUNCTION outboxkit_notify()
;
