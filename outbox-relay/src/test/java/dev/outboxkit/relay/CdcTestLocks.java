package dev.outboxkit.relay;

/** Names of JUnit resource locks for relay test classes that run two at a time. */
final class CdcTestLocks {

  /**
   * The binlog client of a CDC engine on the shared MySQL or MariaDB server: engines built with the
   * default {@code cdc.server-id} connect as the same replica, and the server refuses the second
   * ("A slave with the same server_uuid/server_id is already connected"), so such classes take
   * turns.
   */
  static final String BINLOG_CLIENTS = "mysql-family-binlog-clients";

  private CdcTestLocks() {}
}
