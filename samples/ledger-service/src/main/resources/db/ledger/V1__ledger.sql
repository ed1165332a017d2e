-- Portable across PostgreSQL, MySQL 8 and MariaDB.
-- One journal entry per payment event; each entry has a debit line and a credit line of the same amount.
-- Deliberately NO unique constraint on (payment_id, event_type): the consumer inbox is what keeps a
-- redelivered event from being booked twice, and the load generator's audit would catch it if it did not.
CREATE TABLE ledger_line (
  id            VARCHAR(36)  NOT NULL PRIMARY KEY,
  entry_id      VARCHAR(36)  NOT NULL,
  event_id      VARCHAR(36)  NOT NULL,
  event_type    VARCHAR(40)  NOT NULL,
  payment_id    VARCHAR(36)  NOT NULL,
  account       VARCHAR(100) NOT NULL,
  debit_minor   BIGINT       NOT NULL,
  credit_minor  BIGINT       NOT NULL,
  currency      CHAR(3)      NOT NULL,
  event_time    TIMESTAMP(6) NOT NULL,
  booked_at     TIMESTAMP(6) NOT NULL
);
CREATE INDEX ledger_line_account ON ledger_line (account);
CREATE INDEX ledger_line_payment ON ledger_line (payment_id);

-- The ledger's view of each payment's state, to refuse events that arrive out of order.
CREATE TABLE ledger_payment (
  payment_id    VARCHAR(36)  NOT NULL PRIMARY KEY,
  state         VARCHAR(16)  NOT NULL
);
