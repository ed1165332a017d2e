-- Portable across PostgreSQL, MySQL 8 and MariaDB.
CREATE TABLE payment (
  id            VARCHAR(36)  NOT NULL PRIMARY KEY,
  payer         VARCHAR(64)  NOT NULL,
  merchant      VARCHAR(64)  NOT NULL,
  amount_minor  BIGINT       NOT NULL,
  currency      CHAR(3)      NOT NULL,
  status        VARCHAR(16)  NOT NULL,
  created_at    TIMESTAMP(6) NOT NULL,
  updated_at    TIMESTAMP(6) NOT NULL
);
