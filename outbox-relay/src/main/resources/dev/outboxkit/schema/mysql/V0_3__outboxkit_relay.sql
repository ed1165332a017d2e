-- liquibase formatted sql
-- OutboxKit relay tables, version 3, for mysql: partition leases and live relay instances.
-- Generated from RelaySchema.createStatements(OutboxDialect.mysql(), ...default tables);
-- a test keeps the two identical. Statements are separated by ';' on a line of its own.

-- changeset outboxkit:outboxkit-3-mysql dbms:mysql
CREATE TABLE IF NOT EXISTS outbox_relay_lease (
    partition_no INT          NOT NULL,
    owner_id     VARCHAR(255) NULL,
    epoch        BIGINT       NOT NULL DEFAULT 0,
    expires_at   DATETIME(6)  NULL,
    PRIMARY KEY (partition_no)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
;

CREATE TABLE IF NOT EXISTS outbox_relay_member (
    member_id    VARCHAR(255) NOT NULL,
    heartbeat_at DATETIME(6)  NOT NULL,
    expires_at   DATETIME(6)  NOT NULL,
    PRIMARY KEY (member_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
;
