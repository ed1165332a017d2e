package dev.outboxkit.benchmarks;

import dev.outboxkit.test.DatabaseKind;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/** PostgreSQL in the relay benchmark: logical replication slots and synchronous_commit. */
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
}
