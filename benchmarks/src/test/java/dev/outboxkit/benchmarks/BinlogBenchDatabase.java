package dev.outboxkit.benchmarks;

import dev.outboxkit.test.DatabaseKind;
import java.sql.Connection;
import org.jspecify.annotations.Nullable;

/**
 * MariaDB or MySQL 8 in the relay benchmark: CDC reads the binlog, which keeps no per-reader state
 * on the server, and the writer commits with the server's own durability settings.
 */
final class BinlogBenchDatabase implements BenchDatabase {

  private final DatabaseKind kind;

  BinlogBenchDatabase(DatabaseKind kind) {
    this.kind = kind;
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
}
