package dev.outboxkit.benchmarks;

import dev.outboxkit.test.DatabaseKind;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.jspecify.annotations.Nullable;

/**
 * MariaDB or MySQL 8 in the relay and drain benchmarks: CDC reads the binlog, which keeps no
 * per-reader state on the server, the writer commits with the server's own durability settings, and
 * the server keeps no index statistics the drain benchmark reads.
 */
final class BinlogBenchDatabase implements BenchDatabase {

  /**
   * MariaDB's hand-rolled drain ({@code %d}: the batch): a single-table {@code DELETE} takes {@code
   * ORDER BY … LIMIT} and {@code RETURNING} (MariaDB 10.0.5 and later) in one statement, so the
   * relay is the same one round trip as PostgreSQL's. MariaDB allows no {@code LIMIT} in an {@code
   * IN} subquery nor a subquery on the table being deleted from, and a {@code DELETE} has no {@code
   * SKIP LOCKED}: one instance only, which is all the hand-rolled relay claims. The order walks
   * {@code outbox_event_pending_seq_idx (status, seq)}. MySQL has no {@code RETURNING}.
   */
  static final String MARIADB_DRAIN =
      "DELETE FROM outbox_event WHERE status = 'PENDING' ORDER BY seq LIMIT %d"
          + " RETURNING seq, id, aggregatetype, aggregateid, type, payload";

  private final DatabaseKind kind;
  private final @Nullable String drain;

  BinlogBenchDatabase(DatabaseKind kind, @Nullable String drain) {
    this.kind = kind;
    this.drain = drain;
  }

  @Override
  public DatabaseKind kind() {
    return kind;
  }

  @Override
  public void dropCdcLeftovers(Connection connection, String prefix) {
    // Nothing to drop: a binlog reader leaves no state on the server.
  }

  @Override
  public @Nullable String commitDurability(boolean asynchronous) {
    return null;
  }

  @Override
  public @Nullable String handRolledDrain(int batch) {
    return drain == null ? null : String.format(java.util.Locale.ROOT, drain, batch);
  }

  @Override
  public void afterLoad(Connection connection) throws SQLException {
    connection.setAutoCommit(true);
    try (Statement s = connection.createStatement()) {
      s.execute("ANALYZE TABLE outbox_event");
    }
  }

  @Override
  public long @Nullable [] indexStats(Connection connection) {
    return null;
  }
}
