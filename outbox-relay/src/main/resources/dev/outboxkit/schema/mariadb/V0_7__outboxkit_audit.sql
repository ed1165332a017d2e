-- liquibase formatted sql
-- OutboxKit audit trail, version 7, for mariadb: one row per listing, replay, purge and retention purge of
-- parked events, by both relay modes: who (principal, source address), what (operation, the ids or the
-- filter, how many), how it ended (ok / refused / failed and why) and when. A change writes its row in
-- the same transaction as the change, so no change commits without its record. Append-only: the relay roles may
-- INSERT and SELECT, never UPDATE or DELETE.
-- Generated from AuditSchema.createStatements(OutboxDialect.mariadb(), ...default table);
-- a test keeps the two identical. Statements are separated by ';' on a line of its own.

-- changeset outboxkit:outboxkit-7-mariadb dbms:mariadb
CREATE TABLE IF NOT EXISTS outbox_audit (
    id             BIGINT        NOT NULL AUTO_INCREMENT,
    occurred_at    DATETIME(6)   NOT NULL,
    principal      VARCHAR(255)  NOT NULL,
    source_address VARCHAR(255)  NULL,
    operation      VARCHAR(32)   NOT NULL,
    target         VARCHAR(4000) NOT NULL,
    item_count     INT           NOT NULL,
    outcome        VARCHAR(16)   NOT NULL,
    reason         VARCHAR(1000) NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
;
