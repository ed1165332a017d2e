package dev.outboxkit.benchmarks;

import dev.outboxkit.test.DatabaseKind;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What the relay and drain benchmarks do differently per database, asked of one per-database class
 * instead of switching on the database's name: which shared test server to use, the replication
 * slots a CDC run leaves behind, how a writer's transaction chooses whether its commit waits for
 * the log flush, the hand-rolled relay's statement, the maintenance after a backlog is loaded, and
 * the index statistics a drain pass reports.
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
   * The hand-rolled relay's one statement ({@link HandRolledRelay}): deletes up to {@code batch} of
   * the oldest pending rows of {@code outbox_event} and returns their {@code seq, id,
   * aggregatetype, aggregateid, type, payload}; null where the database has no {@code DELETE …
   * RETURNING}.
   */
  @Nullable String handRolledDrain(int batch);

  /**
   * What runs after a drain pass's backlog is loaded, so that each pass starts from fresh
   * statistics (and, where deletes leave dead rows, without the previous pass's).
   */
  void afterLoad(Connection connection) throws SQLException;

  /**
   * Index scans and index entries read on {@code outbox_event} so far (all its indexes), or null
   * where the database keeps no such cumulative statistics.
   */
  long @Nullable [] indexStats(Connection connection) throws SQLException;

  /**
   * Counters of the server's background work that can stall statements, cumulative, in a fixed
   * order with {@link #backgroundWorkNames}: each latency pass prints how much of it fell in the
   * pass. Empty where the benchmark reads none.
   */
  default long[] backgroundWork(Connection connection) throws SQLException {
    return new long[0];
  }

  /** The names of {@link #backgroundWork}'s counters. */
  default List<String> backgroundWorkNames() {
    return List.of();
  }

  /**
   * The benchmark's support for a {@code bench.databases} entry.
   *
   * @throws IllegalArgumentException naming the databases the benchmark runs on
   */
  static BenchDatabase named(String name) {
    List<BenchDatabase> known =
        List.of(
            new PostgresBenchDatabase(),
            new BinlogBenchDatabase(DatabaseKind.MARIADB, BinlogBenchDatabase.MARIADB_DRAIN),
            new BinlogBenchDatabase(DatabaseKind.MYSQL, null));
    for (BenchDatabase database : known) {
      if (database.kind().key().equals(name)) {
        return database;
      }
    }
    throw new IllegalArgumentException(
        "bench.databases: the benchmarks run on "
            + known.stream().map(d -> d.kind().key()).toList()
            + ", not '"
            + name
            + "'");
  }
}
