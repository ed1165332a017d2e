package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * The floored read and the server-wide state of the shared PostgreSQL: the transaction ids an idle
 * relay's reads take, and a read made again when the server's identity changes under it.
 */
@ServerTest
// Alone: readsThatFindNothingTakeNoTransactionId counts the server's transaction ids, which every
// test class running beside it takes too (review15: 42 in a run with the other floor tests, 0
// alone); pg_stat_reset_shared('archiver') changes the server identity of every floor on the
// server, so a floor test running beside it reads from the head again (review15: the slow row of
// PostgresReadFloorIntegrationTests' control read after its floor had passed it, 3 of 5 runs).
@Isolated
class ReadFloorServerStateIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension shared = TestDatabaseExtension.postgres();

  /**
   * The bound is taken whenever the read has no unfinished candidate ({@code CASE WHEN f.done}),
   * also when the read finds nothing and so takes no candidate: an idle relay takes a transaction
   * id, and writes a commit record, on every poll of every publishing thread, round after round
   * (xid consumption towards anti-wraparound vacuums, WAL on an idle database, a segment switch per
   * archive_timeout). The bound is needed only when the read returns rows.
   *
   * <p>Review13 of the read floor after review12's fixes (8f1f2c5) and the asynchronous commit of
   * the read that takes the bound (d12a72b) found it.
   */
  @Test
  void readsThatFindNothingTakeNoTransactionId() throws Exception {
    OutboxDialect dialect = RelayTables.create(shared.dataSource());
    OutboxRows rows = new OutboxRows(dialect, OutboxTable.DEFAULT);
    ReadFloor floor = new ReadFloor(() -> true);
    execute("DELETE FROM outbox_event");
    long before = nextXid();
    String walBefore = walLsn();
    for (int round = 0; round < 20; round++) {
      try (Connection c = shared.dataSource().getConnection()) {
        assertThat(FloorReads.read(c, rows, floor).rows()).isEmpty();
      }
    }
    long taken = nextXid() - before;
    System.out.println(
        "[review13] 20 reads of an empty outbox took "
            + taken
            + " transaction ids; WAL "
            + walBefore
            + " -> "
            + walLsn());
    assertThat(taken).as("transaction ids taken by 20 reads that found nothing").isLessThan(20);
  }

  /**
   * When a floored read finds itself on "another server" ({@code fetchFromFloor}: {@code
   * sameSource} false) it makes the read again from the head, on the same connection. Since c3314cc
   * that connection is inside the polling read's own transaction (JdbcPollingStore: {@code
   * jdbc.inTransaction}, READ COMMITTED by default). The first statement already took the bound
   * ({@code pg_current_xact_id()} on its first row, the old candidate being finished); the second
   * statement takes a NEW snapshot but its {@code pg_current_xact_id()} returns the id assigned
   * during the first statement, i.e. BEFORE the second statement's snapshot. The floor's proof
   * needs the bound to be assigned after the snapshot of the read whose rows make the candidate: a
   * writer that got its transaction id between the two statements (above the bound) and took a
   * {@code seq} below a row the second statement returns is then not waited for, and the floor
   * passes its row while it is still uncommitted. Autocommit (before c3314cc) gave the second
   * statement a transaction of its own, so its bound came after its snapshot.
   *
   * <p>The identity change here is the spurious one c3314cc added: {@code
   * pg_stat_reset_shared('archiver')}, which an operator or a monitoring tool may run at any time
   * (a failover or a crash recovery take the same path).
   *
   * <p>Review14 of the read floor after c3314cc (the polling read in its own transaction, {@code
   * SET LOCAL plan_cache_mode}; the server identity with {@code pg_stat_archiver.stats_reset})
   * found it, written to fail on d420ffe.
   */
  @Test
  void aReadMadeAgainAfterTheServerIdentityChangedTakesABoundAfterItsOwnSnapshot()
      throws Exception {
    OutboxDialect dialect = RelayTables.create(shared.dataSource());
    OutboxRows rows = new OutboxRows(dialect, OutboxTable.DEFAULT);
    ReadFloor floor = new ReadFloor(() -> true);
    execute("DELETE FROM outbox_event");

    // A floor to start from (the re-read happens only when the read had one).
    // Up to 5 s: the floor rises once no older transaction id is running on the server.
    for (int round = 0; round < 50 && floor.floor() == ReadFloor.NONE; round++) {
      Thread.sleep(round == 0 ? 0 : 100);
      insert("warm" + round, "warm");
      pollAndPublish(rows, floor, null);
    }
    assertThat(floor.floor()).as("a floor after the warm-up reads").isNotEqualTo(ReadFloor.NONE);

    String resetBefore = text("SELECT CAST(stats_reset AS text) FROM pg_stat_archiver");
    execute("SELECT pg_stat_reset_shared('archiver')"); // the server identity changes
    long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
    while (java.util.Objects.equals(
        resetBefore, text("SELECT CAST(stats_reset AS text) FROM pg_stat_archiver"))) {
      assertThat(System.nanoTime()).as("stats_reset changed").isLessThan(until);
      Thread.sleep(50); // before PostgreSQL 15 the statistics collector applies it a bit later
    }
    insert("first", "k1");

    AtomicInteger flooredStatements = new AtomicInteger();
    Connection[] held = new Connection[1];
    Runnable betweenTheTwoStatements =
        () -> {
          try {
            // W takes its transaction id now (the trigger gives it before its seq): above the
            // bound the first statement took, and stays open.
            held[0] = shared.database().openConnection();
            held[0].setAutoCommit(false);
            insert(held[0], "held", "k2");
            // W2 takes a higher seq and commits before the second statement's snapshot.
            insert("later", "k3");
          } catch (SQLException e) {
            throw new IllegalStateException(e);
          }
        };
    List<String> read =
        new ArrayList<>(
            pollAndPublish(
                rows,
                floor,
                c ->
                    hook(
                        c,
                        () -> {
                          if (flooredStatements.incrementAndGet() == 2) {
                            betweenTheTwoStatements.run();
                          }
                        })));
    assertThat(flooredStatements)
        .as("the read was made again after the identity changed (two floored statements)")
        .hasValue(2);
    assertThat(read).contains("first", "later").doesNotContain("held");

    // W is still open: its id is above the bound, so xmin >= bound and the candidate finishes.
    read.addAll(pollAndPublish(rows, floor, null));
    held[0].commit();
    held[0].close();
    for (int round = 0; round < 3; round++) {
      read.addAll(pollAndPublish(rows, floor, null));
    }
    System.out.println("[review14] floor " + floor.floor() + "; read " + read);
    assertThat(read)
        .as("W's row, committed after the re-read, with a seq below the candidate's")
        .contains("held");
  }

  /** Wraps {@code c} so that {@code beforeFlooredStatement} runs before each floored read. */
  private static Connection hook(Connection c, Runnable beforeFlooredStatement) {
    return (Connection)
        Proxy.newProxyInstance(
            Connection.class.getClassLoader(),
            new Class<?>[] {Connection.class},
            (proxy, method, args) -> {
              if (method.getName().equals("prepareStatement")
                  && args != null
                  && args[0] instanceof String sql
                  && sql.contains("pg_current_xact_id")) {
                beforeFlooredStatement.run();
              }
              try {
                return method.invoke(c, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }

  /**
   * One poll as JdbcPollingStore makes it on PostgreSQL since c3314cc (its own transaction, the
   * read's settings first), then the acknowledgement of what it read.
   */
  private static List<String> pollAndPublish(
      OutboxRows rows, ReadFloor floor, @Nullable UnaryOperator<Connection> wrap)
      throws SQLException {
    try (Connection real = shared.dataSource().getConnection()) {
      Connection c = wrap == null ? real : wrap.apply(real);
      OutboxRows.Fetched fetched;
      real.setAutoCommit(false);
      try {
        try (Statement s = real.createStatement()) {
          for (String setting : rows.readSettings()) {
            s.execute(setting);
          }
        }
        fetched = FloorReads.read(c, rows, floor);
        real.commit();
      } finally {
        real.setAutoCommit(true);
      }
      FloorReads.publish(real, rows, fetched);
      return FloorReads.payloads(fetched);
    }
  }

  private static void insert(String payload, String key) throws SQLException {
    try (Connection c = shared.database().openConnection()) {
      insert(c, payload, key);
    }
  }

  private static void insert(Connection c, String payload, String key) throws SQLException {
    FloorReads.insert(c, key, payload);
  }

  private static long nextXid() throws SQLException {
    try (Connection c = shared.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT CAST(pg_snapshot_xmax(pg_current_snapshot()) AS text)")) {
      rs.next();
      return Long.parseLong(rs.getString(1));
    }
  }

  private static String walLsn() throws SQLException {
    try (Connection c = shared.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT CAST(pg_current_wal_lsn() AS text)")) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static @Nullable String text(String sql) throws SQLException {
    try (Connection c = shared.database().openConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static void execute(String sql) throws SQLException {
    try (Connection c = shared.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
