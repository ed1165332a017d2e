-- liquibase formatted sql
-- OutboxKit idempotency keys and consumer inbox, version 2, for mysql.
-- Generated from IdempotencySchema.createStatements(OutboxDialect.mysql(), ...default tables);
-- a test keeps the two identical. Statements are separated by ';' on a line of its own.

-- changeset outboxkit:outboxkit-2-mysql dbms:mysql
CREATE TABLE IF NOT EXISTS idempotency_key (
    scope       VARCHAR(255) NOT NULL,
    idem_key    VARCHAR(255) NOT NULL,
    fingerprint VARCHAR(255) NOT NULL,
    result      LONGBLOB,
    created_at  DATETIME(6)  NOT NULL,
    expires_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (scope, idem_key),
    KEY idempotency_key_expires_idx (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
;

CREATE TABLE IF NOT EXISTS inbox_message (
    consumer    VARCHAR(255) NOT NULL,
    message_id  VARCHAR(255) NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    expires_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (consumer, message_id),
    KEY inbox_message_expires_idx (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
;
