package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The relay's reads of the outbox against a real PostgreSQL. */
@ServerTest
class OutboxRowsIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  /**
   * 70 partitions with 1,000 held keys each would bind 70,140 parameters, more than PostgreSQL's
   * (and MySQL's) 65,535: the read leaves out fewer keys in SQL (the rest are filtered in memory)
   * instead of failing every poll.
   */
  @Test
  void aReadWithMoreHeldKeysThanBindParametersAllowStillRuns() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    int partitions = 70;
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_event");
    }
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox =
        Outbox.builder().connectionProvider(tx).dialect(dialect).partitions(partitions).build();
    tx.execute(
        c ->
            outbox.appendAll(
                IntStream.range(0, 200)
                    .mapToObj(k -> OutboxMessage.of("binds", "key-" + k, "Counted", "0"))
                    .toList()));
    int heldPartition;
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT partition_no FROM outbox_event WHERE aggregateid = 'key-0'")) {
      rs.next();
      heldPartition = rs.getInt(1);
    }
    Map<Integer, List<String>> excluded = new HashMap<>();
    for (int p = 0; p < partitions; p++) {
      List<String> keys = new ArrayList<>();
      if (p == heldPartition) {
        keys.add("key-0");
      }
      for (int i = keys.size(); i < 1_000; i++) {
        keys.add("held-" + p + "-" + i);
      }
      excluded.put(p, keys);
    }
    OutboxRows rows = new OutboxRows(dialect, OutboxTable.DEFAULT);
    OutboxRows.Fetched fetched;
    try (Connection c = db.dataSource().getConnection()) {
      fetched =
          rows.fetch(
              c,
              IntStream.range(0, partitions).boxed().toList(),
              100,
              excluded,
              Map.of(),
              Map.of(),
              Long.MAX_VALUE);
    }
    assertThat(fetched.rows()).hasSize(199);
    assertThat(fetched.rows())
        .as("the first held key of a partition is still left out in SQL")
        .noneMatch(r -> r.key().equals("key-0"));
  }

  /**
   * Issue 19, finding 3: a read stops adding rows once the byte budget is reached, oldest first
   * over every partition, so a thread never holds batch-size rows of up to 1 MB; its first row
   * always comes, however large.
   */
  @Test
  void aReadStopsAtTheByteBudgetAndAlwaysTakesItsFirstRow() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_event");
    }
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).partitions(4).build();
    String big = "x".repeat(10_000);
    tx.execute(
        c ->
            outbox.appendAll(
                IntStream.range(0, 12)
                    .mapToObj(k -> OutboxMessage.of("bytes", "key-" + k, "Sized", big))
                    .toList()));
    OutboxRows rows = new OutboxRows(dialect, OutboxTable.DEFAULT);
    List<Integer> all = List.of(0, 1, 2, 3);
    OutboxRows.Fetched everything;
    OutboxRows.Fetched budgeted;
    OutboxRows.Fetched tiny;
    try (Connection c = db.dataSource().getConnection()) {
      everything = rows.fetch(c, all, 100, Map.of(), Map.of(), Map.of(), Long.MAX_VALUE);
      budgeted = rows.fetch(c, all, 100, Map.of(), Map.of(), Map.of(), 35_000);
      tiny = rows.fetch(c, all, 100, Map.of(), Map.of(), Map.of(), 1_024);
    }
    assertThat(everything.rows()).hasSize(12);
    assertThat(everything.cutByBytes()).isFalse();
    assertThat(everything.more()).isFalse();
    // Each row counts about 10 kB: the fourth starts past 30 kB, the fifth past the budget.
    assertThat(budgeted.rows())
        .as("the oldest rows up to the one that reaches the budget")
        .containsExactlyElementsOf(everything.rows().subList(0, 4));
    assertThat(budgeted.cutByBytes()).isTrue();
    assertThat(budgeted.more()).isTrue();
    long before = 0;
    for (PendingEvent row : budgeted.rows().subList(0, 3)) {
      before += OutboxRows.bytes(row);
    }
    assertThat(before).isLessThan(35_000);
    assertThat(tiny.rows())
        .as("a row larger than the whole budget still comes, alone")
        .containsExactly(everything.rows().get(0));
    assertThat(tiny.more()).isTrue();
  }

  /**
   * The gauges' query finds the same backlog and oldest event as {@code COUNT(*)} and {@code
   * MIN(created_at)} over every pending row, through the pending index. Rows: {@code
   * -Doutboxkit.statsRows} (default 100,000); prints both plans and times.
   */
  @Test
  void statsFindTheOldestPendingEventThroughThePendingIndex() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    int count = Integer.getInteger("outboxkit.statsRows", 100_000);
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_event");
      // Oldest first by seq; every 10th row published, and one old row parked.
      s.execute(
          "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, created_at,"
              + " partition_no, status) SELECT gen_random_uuid(), 'stats', 'key-' || (i % 5000),"
              + " 'Counted', '\\x30'::bytea,"
              + " TIMESTAMPTZ '2026-01-01 00:00:00+00' + i * INTERVAL '1 millisecond', i % 16,"
              + " CASE WHEN i = 0 THEN 'DEAD' WHEN i % 10 = 1 THEN 'PUBLISHED' ELSE 'PENDING' END"
              + " FROM generate_series(0, "
              + (count - 1)
              + ") AS i");
      s.execute("VACUUM ANALYZE outbox_event");
    }
    OutboxStats rows = new OutboxStats(dialect, OutboxTable.DEFAULT);
    try (Connection c = db.dataSource().getConnection()) {
      // Warm both, then time each: the whole-backlog aggregate it replaced, and the index probes.
      everyRow(c, dialect);
      rows.stats(c, 16);
      long start = System.nanoTime();
      OutboxStats.Stats everyRow = everyRow(c, dialect);
      long everyRowMicros = (System.nanoTime() - start) / 1_000;
      start = System.nanoTime();
      OutboxStats.Stats indexed = rows.stats(c, 16);
      long indexedMicros = (System.nanoTime() - start) / 1_000;
      System.out.printf(
          "[stats] %,d rows (%,d pending): COUNT + MIN(created_at) %,d us, COUNT + first by seq"
              + " per partition %,d us%n",
          count, indexed.backlog(), everyRowMicros, indexedMicros);
      for (String sql :
          List.of(
              "SELECT COUNT(*), MIN(created_at) FROM outbox_event WHERE status = 'PENDING'",
              "SELECT COUNT(*) FROM outbox_event WHERE status = 'PENDING'",
              "SELECT MIN(created_at) FROM ((SELECT created_at FROM outbox_event WHERE status ="
                  + " 'PENDING' AND partition_no = 3 ORDER BY seq LIMIT 1) UNION ALL (SELECT"
                  + " created_at FROM outbox_event WHERE status = 'PENDING' AND partition_no = 4"
                  + " ORDER BY seq LIMIT 1)) o")) {
        try (Statement s = c.createStatement();
            ResultSet rs = s.executeQuery("EXPLAIN (ANALYZE, BUFFERS) " + sql)) {
          System.out.println("[stats] " + sql);
          while (rs.next()) {
            System.out.println("[stats]   " + rs.getString(1));
          }
        }
      }
      assertThat(indexed).isEqualTo(everyRow);
      assertThat(indexed.oldest()).isEqualTo(java.time.Instant.parse("2026-01-01T00:00:00.002Z"));
      try (Statement s = c.createStatement()) {
        s.execute("DELETE FROM outbox_event");
      }
      assertThat(rows.stats(c, 16)).isEqualTo(new OutboxStats.Stats(0, null));
      assertThat(rows.backlog(c)).isZero();
    }
  }

  /** The backlog and oldest event by COUNT(*) and MIN(created_at) over every pending row. */
  private static OutboxStats.Stats everyRow(Connection c, OutboxDialect dialect)
      throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT COUNT(*) AS backlog, MIN(created_at) AS oldest FROM outbox_event"
                    + " WHERE status = 'PENDING'")) {
      rs.next();
      return new OutboxStats.Stats(rs.getLong("backlog"), dialect.getInstant(rs, "oldest"));
    }
  }
}
