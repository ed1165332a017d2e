package dev.outboxkit.relay.internal;

import java.util.List;

/**
 * MySQL's and MariaDB's answers to {@link ParkedLocksContract}: both InnoDB, so the same locking
 * read holds the audit table and the same process list shows who waits.
 */
abstract class MySqlFamilyParkedLocksContract extends ParkedLocksContract {

  /** A locking read of the audit table's end: the gap the next record's insert goes into. */
  @Override
  List<String> holdTheAuditTable() {
    return List.of("SELECT id FROM outbox_audit FOR UPDATE");
  }

  @Override
  String waitingSessions() {
    return "SELECT COUNT(*) FROM information_schema.processlist"
        + " WHERE db = DATABASE() AND info LIKE 'INSERT INTO outbox_audit %'";
  }

  @Override
  String sessionsQuery() {
    return "SELECT p.id, p.db, p.command, p.state, p.info, t.trx_state FROM information_schema.processlist p LEFT JOIN information_schema.innodb_trx t ON t.trx_mysql_thread_id = p.id WHERE p.db = DATABASE()";
  }
}
