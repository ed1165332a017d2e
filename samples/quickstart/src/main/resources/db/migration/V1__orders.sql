CREATE TABLE orders (
    id           VARCHAR(36)  PRIMARY KEY,
    customer     VARCHAR(200) NOT NULL,
    amount_minor BIGINT       NOT NULL CHECK (amount_minor > 0),
    created_at   TIMESTAMPTZ  NOT NULL DEFAULT now()
);
