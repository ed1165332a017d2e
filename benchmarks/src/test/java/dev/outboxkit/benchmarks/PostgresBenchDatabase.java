package dev.outboxkit.benchmarks;

import dev.outboxkit.test.DatabaseKind;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * PostgreSQL in the relay and drain benchmarks: logical replication slots, synchronous_commit, the
 * hand-rolled relay's {@code DELETE … RETURNING} and the cumulative index statistics.
 */
final class PostgresBenchDatabase implements BenchDatabase {

  @Override
  public DatabaseKind kind() {
    return DatabaseKind.POSTGRESQL;
  }

  /** A CDC engine's slot outlives the engine; an inactive one would hold WAL for the next runs. */
  @Override
  public void dropCdcLeftovers(Connection connection, String prefix) throws SQLException {
    try (Statement s = connection.createStatement()) {
      s.execute(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE"
              + " slot_name LIKE '"
              + prefix
              + "%' AND NOT active");
    }
  }

  @Override
  public String commitDurability(boolean asynchronous) {
    return "SET LOCAL synchronous_commit TO " + (asynchronous ? "off" : "on");
  }

  /** One statement; {@code SKIP LOCKED} so that a second instance would take other rows. */
  @Override
  public String handRolledDrain(int batch) {
    return "DELETE FROM outbox_event WHERE seq IN (SELECT seq FROM outbox_event"
        + " WHERE status = 'PENDING' ORDER BY seq LIMIT "
        + batch
        + " FOR UPDATE SKIP LOCKED) RETURNING seq, id, aggregatetype, aggregateid, type, payload";
  }

  @Override
  public void afterLoad(Connection connection) throws SQLException {
    connection.setAutoCommit(true);
    try (Statement s = connection.createStatement()) {
      s.execute("VACUUM ANALYZE outbox_event");
    }
  }

  /** Flushed first (the statistics lag by up to a second otherwise). */
  @Override
  public long[] backgroundWork(Connection connection) throws SQLException {
    return flushedStatistics(
        connection,
        "SELECT (SELECT coalesce(sum(autovacuum_count), 0) FROM pg_stat_user_tables"
            + " WHERE relname = 'outbox_event'),"
            + " (SELECT coalesce(sum(autoanalyze_count), 0) FROM pg_stat_user_tables"
            + " WHERE relname = 'outbox_event'),"
            + " (SELECT coalesce(sum(autovacuum_count), 0) FROM pg_stat_all_tables),"
            + " (SELECT num_timed + num_requested FROM pg_stat_checkpointer)",
        4);
  }

  /**
   * The first {@code columns} numbers of {@code query}'s one row, read after this session's
   * statistics were flushed.
   */
  private static long[] flushedStatistics(Connection connection, String query, int columns)
      throws SQLException {
    try (Statement s = connection.createStatement()) {
      s.execute("SELECT pg_stat_force_next_flush()");
      try (ResultSet rs = s.executeQuery(query)) {
        rs.next();
        long[] values = new long[columns];
        for (int i = 0; i < columns; i++) {
          values[i] = rs.getLong(i + 1);
        }
        return values;
      }
    }
  }

  @Override
  public java.util.List<String> backgroundWorkNames() {
    return java.util.List.of(
        "autovacuums of outbox_event",
        "autoanalyzes of outbox_event",
        "autovacuums of any table",
        "checkpoints");
  }

  /** Flushed first; the statistics still lag by up to a second, so approximate. */
  @Override
  public long[] indexStats(Connection connection) throws SQLException {
    return flushedStatistics(
        connection,
        "SELECT COALESCE(SUM(idx_scan), 0), COALESCE(SUM(idx_tup_read), 0)"
            + " FROM pg_stat_user_indexes WHERE relname = 'outbox_event'",
        2);
  }
}
