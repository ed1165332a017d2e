package dev.outboxkit.relay;

/** Names of JUnit resource locks for relay test classes that run two at a time. */
final class CdcTestLocks {

  /**
   * The binlog clients of CDC engines on the shared MySQL or MariaDB server. Engines with different
   * names derive different {@code cdc.server-id}s (a server refuses a second client with the same
   * id: "A slave with the same server_uuid/server_id is already connected"), but these classes
   * still take turns: each starts several engines and snapshots, which is heavy on two cores.
   */
  static final String BINLOG_CLIENTS = "mysql-family-binlog-clients";

  private CdcTestLocks() {}
}
