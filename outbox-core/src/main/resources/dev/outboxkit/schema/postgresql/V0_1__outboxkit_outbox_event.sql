-- liquibase formatted sql
-- OutboxKit outbox table, version 1, for postgresql.
-- Generated from OutboxSchema.createStatements(OutboxDialect.postgresql(), OutboxTable.DEFAULT);
-- a test keeps the two identical. Statements are separated by ';' on a line of its own.

-- changeset outboxkit:outboxkit-1-postgresql dbms:postgresql
CREATE TABLE IF NOT EXISTS outbox_event (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              UUID          NOT NULL,
    aggregatetype   VARCHAR(255)  NOT NULL,
    aggregateid     VARCHAR(255)  NOT NULL,
    type            VARCHAR(255)  NOT NULL,
    payload         BYTEA,
    headers         TEXT,
    tenant          VARCHAR(255),
    created_at      TIMESTAMPTZ   NOT NULL,
    partition_no    INTEGER       NOT NULL,
    status          VARCHAR(16)   NOT NULL DEFAULT 'PENDING',
    attempts        INTEGER       NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ,
    last_error      VARCHAR(2000),
    published_at    TIMESTAMPTZ,
    CONSTRAINT outbox_event_id_uk UNIQUE (id)
)
;

CREATE INDEX IF NOT EXISTS outbox_event_pending_idx ON outbox_event (partition_no, seq) WHERE status = 'PENDING'
;
