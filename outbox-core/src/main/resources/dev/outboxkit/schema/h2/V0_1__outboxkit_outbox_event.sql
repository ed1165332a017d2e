-- liquibase formatted sql
-- OutboxKit outbox table, version 1, for h2.
-- Generated from OutboxSchema.createStatements(OutboxDialect.h2(), OutboxTable.DEFAULT);
-- a test keeps the two identical. Statements are separated by ';' on a line of its own.

-- changeset outboxkit:outboxkit-1-h2 dbms:h2
CREATE TABLE IF NOT EXISTS outbox_event (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              UUID                     NOT NULL,
    aggregatetype   VARCHAR(255)             NOT NULL,
    aggregateid     VARCHAR(255)             NOT NULL,
    type            VARCHAR(255)             NOT NULL,
    payload         BINARY VARYING,
    headers         CHARACTER VARYING,
    tenant          VARCHAR(255),
    created_at      TIMESTAMP(6) WITH TIME ZONE NOT NULL,
    partition_no    INTEGER                  NOT NULL,
    status          VARCHAR(16)              DEFAULT 'PENDING' NOT NULL,
    attempts        INTEGER                  DEFAULT 0 NOT NULL,
    next_attempt_at TIMESTAMP(6) WITH TIME ZONE,
    last_error      VARCHAR(2000),
    published_at    TIMESTAMP(6) WITH TIME ZONE,
    CONSTRAINT outbox_event_id_uk UNIQUE (id)
)
;

CREATE INDEX IF NOT EXISTS outbox_event_pending_idx ON outbox_event (status, partition_no, seq)
;
