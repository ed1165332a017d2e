-- liquibase formatted sql
-- OutboxKit outbox table, version 1, for mysql.
-- Generated from OutboxSchema.createStatements(OutboxDialect.mysql(), OutboxTable.DEFAULT);
-- a test keeps the two identical. Statements are separated by ';' on a line of its own.

-- changeset outboxkit:outboxkit-1-mysql dbms:mysql
CREATE TABLE IF NOT EXISTS outbox_event (
    seq             BIGINT        NOT NULL AUTO_INCREMENT,
    id              CHAR(36)      CHARACTER SET ascii NOT NULL,
    aggregatetype   VARCHAR(255)  NOT NULL,
    aggregateid     VARCHAR(255)  NOT NULL,
    type            VARCHAR(255)  NOT NULL,
    payload         LONGBLOB,
    headers         TEXT,
    tenant          VARCHAR(255),
    created_at      DATETIME(6)   NOT NULL,
    partition_no    INT           NOT NULL,
    status          VARCHAR(16)   NOT NULL DEFAULT 'PENDING',
    attempts        INT           NOT NULL DEFAULT 0,
    next_attempt_at DATETIME(6)   NULL,
    last_error      VARCHAR(2000) NULL,
    published_at    DATETIME(6)   NULL,
    PRIMARY KEY (seq),
    UNIQUE KEY outbox_event_id_uk (id),
    KEY outbox_event_pending_idx (status, partition_no, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
;
