-- liquibase formatted sql
-- OutboxKit outbox table, version 12, for postgresql: a statement-level BEFORE INSERT trigger that gives the
-- writing transaction its transaction id before the insert takes any seq. With it the polling relay's read
-- starts at a read floor instead of the head of the pending index (whose dead entries it would otherwise walk
-- at every read while another session holds an old snapshot); without it the relay reads as before and says
-- so at start. Enabled ALWAYS, so that a writer with session_replication_role = replica does not skip it.
-- Creating the trigger locks the outbox table against writes until the open writes end (as V0_3 does).
-- Only PostgreSQL has this version. Why: docs/benchmarks.md, "A read floor". Generated from
-- RelaySchema.readFloorStatements(OutboxDialect.postgresql(), OutboxTable.DEFAULT); a test keeps the two
-- identical. Statements are separated by ';' on a line of its own.

-- changeset outboxkit:outboxkit-12-postgresql-assign-xid-function dbms:postgresql splitStatements:false
CREATE OR REPLACE FUNCTION outboxkit_assign_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_current_xact_id();
    RETURN NULL;
END
$$
;

-- changeset outboxkit:outboxkit-12-postgresql-assign-xid-trigger dbms:postgresql
DROP TRIGGER IF EXISTS outbox_event_assign_xid ON outbox_event
;

CREATE TRIGGER outbox_event_assign_xid BEFORE INSERT ON outbox_event
    FOR EACH STATEMENT EXECUTE FUNCTION outboxkit_assign_xid()
;

ALTER TABLE outbox_event ENABLE ALWAYS TRIGGER outbox_event_assign_xid
;
