package dev.outboxkit.benchmarks;

import dev.outboxkit.test.DatabaseKind;
import java.sql.Connection;
import org.jspecify.annotations.Nullable;

/**
 * MariaDB in the relay benchmark: CDC reads the binlog, which keeps no per-reader state on the
 * server, and the writer commits with the server's own durability settings.
 */
final class MariaDbBenchDatabase implements BenchDatabase {

  @Override
  public DatabaseKind kind() {
    return DatabaseKind.MARIADB;
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
