package dev.outboxkit.benchmarks;

import dev.outboxkit.test.DatabaseKind;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What the relay benchmark does differently per database, asked of one per-database class instead
 * of switching on the database's name: which shared test server to use, the replication slots a CDC
 * run leaves behind, and how a writer's transaction chooses whether its commit waits for the log
 * flush.
 */
interface BenchDatabase {

  /** The shared test server of this database. */
  DatabaseKind kind();

  /**
   * Removes what CDC runs whose engine names start with {@code prefix} leave on the server (none
   * where the change log is read without server-side state).
   */
  void dropCdcLeftovers(Connection connection, String prefix) throws SQLException;

  /**
   * The statement that makes the current transaction's commit wait for the log flush or not, or
   * null where the benchmark has no such setting for the database.
   */
  @Nullable String commitDurability(boolean asynchronous);

  /**
   * The benchmark's support for a {@code bench.databases} entry.
   *
   * @throws IllegalArgumentException naming the databases the benchmark runs on
   */
  static BenchDatabase named(String name) {
    List<BenchDatabase> known =
        List.of(
            new PostgresBenchDatabase(),
            new BinlogBenchDatabase(DatabaseKind.MARIADB),
            new BinlogBenchDatabase(DatabaseKind.MYSQL));
    for (BenchDatabase database : known) {
      if (database.kind().key().equals(name)) {
        return database;
      }
    }
    throw new IllegalArgumentException(
        "bench.databases: the relay benchmark runs on "
            + known.stream().map(d -> d.kind().key()).toList()
            + ", not '"
            + name
            + "'");
  }
}
