-- liquibase formatted sql
-- OutboxKit idempotency keys and consumer inbox, version 2, for h2.
-- Generated from IdempotencySchema.createStatements(OutboxDialect.h2(), ...default tables);
-- a test keeps the two identical. Statements are separated by ';' on a line of its own.

-- changeset outboxkit:outboxkit-2-h2 dbms:h2
CREATE TABLE IF NOT EXISTS idempotency_key (
    scope       VARCHAR(255) NOT NULL,
    idem_key    VARCHAR(255) NOT NULL,
    fingerprint VARCHAR(255) NOT NULL,
    result      BINARY VARYING,
    created_at  TIMESTAMP(6) WITH TIME ZONE NOT NULL,
    expires_at  TIMESTAMP(6) WITH TIME ZONE NOT NULL,
    CONSTRAINT idempotency_key_pk PRIMARY KEY (scope, idem_key)
)
;

CREATE INDEX IF NOT EXISTS idempotency_key_expires_idx ON idempotency_key (expires_at)
;

CREATE TABLE IF NOT EXISTS inbox_message (
    consumer    VARCHAR(255) NOT NULL,
    message_id  VARCHAR(255) NOT NULL,
    created_at  TIMESTAMP(6) WITH TIME ZONE NOT NULL,
    expires_at  TIMESTAMP(6) WITH TIME ZONE NOT NULL,
    CONSTRAINT inbox_message_pk PRIMARY KEY (consumer, message_id)
)
;

CREATE INDEX IF NOT EXISTS inbox_message_expires_idx ON inbox_message (expires_at)
;
