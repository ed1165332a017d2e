CREATE TABLE IF NOT EXISTS web_payment (
    id           VARCHAR(36)  PRIMARY KEY,
    account      VARCHAR(64)  NOT NULL,
    amount_minor BIGINT       NOT NULL
);
