CREATE TABLE IF NOT EXISTS payment_audit (
    id         BIGINT AUTO_INCREMENT PRIMARY KEY,
    payment_id VARCHAR(64) NOT NULL,
    action     VARCHAR(32) NOT NULL
);
