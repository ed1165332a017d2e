-- liquibase formatted sql
-- OutboxKit outbox table, version 8, for h2: an index of the pending rows in seq order. The polling relay
-- reads the oldest pending rows of all the partitions it owns in one walk of it (version 0.8 on); without it
-- the read walks the primary key, correct but through every published and parked row too.
-- PostgreSQL blocks appends while it builds an index: on a large table run the statement with CONCURRENTLY first,
-- outside a transaction (this script then does nothing); MySQL and MariaDB build it online. See docs/schema.md.
-- Generated from RelaySchema.pendingSeqIndexStatements(OutboxDialect.h2(), OutboxTable.DEFAULT);
-- a test keeps the two identical. Statements are separated by ';' on a line of its own.

-- changeset outboxkit:outboxkit-8-h2 dbms:h2
CREATE INDEX IF NOT EXISTS outbox_event_pending_seq_idx ON outbox_event (status, seq)
;
