package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.test.MutableClock;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
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
    OutboxDialect dialect = emptyOutbox();
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
   * Issue 23: a read takes the oldest pending rows of all its partitions in one walk in {@code seq}
   * order (not a page per partition), and keeps no position: a row whose {@code seq} is smaller
   * than rows already read but whose transaction committed later is read by the next read, first.
   */
  @Test
  void aReadTakesTheOldestRowsOverAllPartitionsAndALateCommitIsReadNext() throws Exception {
    OutboxDialect dialect = emptyOutbox();
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).partitions(4).build();
    OutboxRows rows = new OutboxRows(dialect, OutboxTable.DEFAULT);
    List<Integer> all = List.of(0, 1, 2, 3);
    try (Connection late = db.dataSource().getConnection()) {
      // The late transaction takes the smallest seq, then stays open while 40 rows commit.
      late.setAutoCommit(false);
      try (Statement s = late.createStatement()) {
        s.execute(
            "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, created_at,"
                + " partition_no) VALUES (gen_random_uuid(), 'seq', 'late-key', 'Late',"
                + " '\\x30'::bytea, now(), 2)");
      }
      tx.execute(
          c ->
              outbox.appendAll(
                  IntStream.range(0, 40)
                      .mapToObj(k -> OutboxMessage.of("seq", "key-" + (k % 7), "Early", "0"))
                      .toList()));
      OutboxRows.Fetched first;
      OutboxRows.Fetched everything;
      try (Connection c = db.dataSource().getConnection()) {
        first = rows.fetch(c, all, 3, Map.of(), Map.of(), Map.of(), Long.MAX_VALUE);
        everything = rows.fetch(c, all, 100, Map.of(), Map.of(), Map.of(), Long.MAX_VALUE);
      }
      assertThat(everything.rows()).hasSize(40).noneMatch(r -> r.key().equals("late-key"));
      assertThat(first.rows())
          .as("3 per partition × 4 partitions: the 12 oldest rows of all, in seq order")
          .containsExactlyElementsOf(everything.rows().subList(0, 12));
      assertThat(first.more()).isTrue();
      assertThat(first.fullPartitions()).containsExactlyInAnyOrderElementsOf(all);
      assertThat(everything.more()).isFalse();
      assertThat(everything.fullPartitions()).isEmpty();
      late.commit();
    }
    try (Connection c = db.dataSource().getConnection()) {
      OutboxRows.Fetched next = rows.fetch(c, all, 3, Map.of(), Map.of(), Map.of(), Long.MAX_VALUE);
      assertThat(next.rows().get(0).key())
          .as("the row that committed last has the smallest seq and is read first")
          .isEqualTo("late-key");
      OutboxRows.Fetched aside =
          rows.fetch(
              c,
              all,
              3,
              Map.of(next.rows().get(0).partition(), List.of("late-key")),
              Map.of(),
              Map.of(),
              Long.MAX_VALUE);
      assertThat(aside.rows()).noneMatch(r -> r.key().equals("late-key")).hasSize(12);
    }
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
      rows.stats(c);
      long start = System.nanoTime();
      OutboxStats.Stats everyRow = everyRow(c, dialect);
      long everyRowMicros = (System.nanoTime() - start) / 1_000;
      start = System.nanoTime();
      OutboxStats.Stats indexed = rows.stats(c);
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
      assertThat(rows.stats(c)).isEqualTo(new OutboxStats.Stats(0, null));
      assertThat(rows.backlog(c)).isZero();
    }
  }

  /**
   * Issue 23: the backlog gauge counts pending rows one by one only up to a limit (a full count of
   * ten million pending rows every metrics interval waited on I/O while the relay drained); above
   * it, the span of pending seqs, found by probing each partition's first and last pending row: an
   * upper bound, exact while the pending rows are consecutive.
   */
  @Test
  void theBacklogIsCountedUpToALimitAndEstimatedFromTheSeqSpanAbove() throws Exception {
    OutboxDialect dialect =
        outboxWith(
            "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, created_at,"
                + " partition_no) SELECT gen_random_uuid(), 'span', 'key-' || i, 'Counted',"
                + " '\\x30'::bytea, now(), i % 4 FROM generate_series(1, 30) AS i");
    OutboxStats stats = new OutboxStats(dialect, OutboxTable.DEFAULT);
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      assertThat(stats.backlog(c, 100)).as("under the limit: counted").isEqualTo(30);
      assertThat(stats.backlog(c, 10)).as("over it: consecutive rows, exact").isEqualTo(30);
      java.time.Instant oldest = stats.stats(c, 100).oldest();
      assertThat(oldest).isNotNull();
      assertThat(stats.stats(c, 10))
          .as("the gauges' stats estimate the same way, the oldest from the same probes")
          .isEqualTo(new OutboxStats.Stats(30, oldest));
      s.execute(
          "UPDATE outbox_event SET status = 'DEAD' WHERE seq IN (SELECT seq FROM outbox_event"
              + " ORDER BY seq OFFSET 10 LIMIT 5)");
      assertThat(stats.backlog(c, 100)).isEqualTo(25);
      assertThat(stats.backlog(c, 10)).as("over the limit: an upper bound").isEqualTo(30);
      s.execute(
          "DELETE FROM outbox_event WHERE seq IN (SELECT seq FROM outbox_event WHERE status ="
              + " 'PENDING' ORDER BY seq DESC LIMIT 22)");
      assertThat(stats.backlog(c, 2)).as("over the limit: the span of what is left").isEqualTo(3);
      assertThat(stats.stats(c, 2).backlog()).isEqualTo(3);
      s.execute("DELETE FROM outbox_event");
      assertThat(stats.backlog(c, 10)).isZero();
    }
  }

  /**
   * Issue 23: in a drain of a 10 M backlog a backlog measurement took up to 23 s (timed by {@code
   * outbox.relay.measurements}): its count walked the index entries of every row deleted at the
   * head of the pending rows, and then each partition's probe for its first pending row walked them
   * again. The probes come first now and the count starts at the lowest first row, so each such
   * entry is read once. A snapshot held elsewhere keeps the deleted rows' entries (as autovacuum
   * behind a drain does): without it the first walk would mark them dead and the second skip them.
   */
  @Test
  void aBacklogMeasurementWalksTheEntriesOfRowsDeletedAtTheHeadOnce() throws Exception {
    OutboxDialect dialect =
        outboxWith(
            "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, created_at,"
                + " partition_no) SELECT gen_random_uuid(), 'head', 'key-' || i, 'Counted',"
                + " '\\x30'::bytea, now(), i % 4 FROM generate_series(1, 20000) AS i");
    OutboxStats stats = new OutboxStats(dialect, OutboxTable.DEFAULT);
    try (Connection held = db.dataSource().getConnection();
        Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("VACUUM outbox_event"); // the entries of rows earlier tests deleted
      held.setAutoCommit(false);
      held.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      try (Statement h = held.createStatement();
          ResultSet rs = h.executeQuery("SELECT COUNT(*) FROM outbox_event")) {
        rs.next(); // the snapshot is taken: the rows deleted next stay visible to it
      }
      s.execute(
          "DELETE FROM outbox_event WHERE seq IN (SELECT seq FROM outbox_event ORDER BY seq LIMIT"
              + " 19000)");
      stats.stats(c, 100_000); // plans and caches warm
      long before = indexEntriesRead(c);

      OutboxStats.Stats measured = stats.stats(c, 100_000);

      long read = indexEntriesRead(c) - before;
      held.rollback();
      assertThat(measured.backlog()).isEqualTo(1000);
      assertThat(read)
          .as("index entries read for one measurement, with 19,000 deleted rows at the head")
          .isBetween(19_000L, 19_000L + 1000 + 1000);
    }
  }

  private static long indexEntriesRead(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("SELECT pg_stat_force_next_flush()");
      try (ResultSet rs =
          s.executeQuery(
              "SELECT COALESCE(SUM(idx_tup_read), 0) FROM pg_stat_user_indexes WHERE relname ="
                  + " 'outbox_event'")) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /**
   * Issue 23: a lease claim reads the failed keys of every partition it won in one statement (one
   * statement per partition visited every page of a large backlog once per partition); by
   * partition, the same keys and earliest retry times as one read per partition.
   */
  @Test
  void theFailedKeysOfSeveralPartitionsAreReadInOneStatementByPartition() throws Exception {
    OutboxDialect dialect =
        outboxWith(
            "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, created_at,"
                + " partition_no, attempts, next_attempt_at) SELECT gen_random_uuid(), 'retry',"
                + " 'key-' || (i % 6), 'Failed', '\\x30'::bytea, now(), i % 3,"
                + " CASE WHEN i % 4 = 0 THEN 1 ELSE 0 END,"
                + " CASE WHEN i % 4 = 0 THEN TIMESTAMPTZ '2026-01-01 00:00:00+00' + i * INTERVAL"
                + " '1 second' END FROM generate_series(0, 23) AS i");
    OutboxRows rows = new OutboxRows(dialect, OutboxTable.DEFAULT);
    try (Connection c = db.dataSource().getConnection()) {
      Map<Integer, Map<String, java.time.Instant>> all = rows.retrying(c, List.of(0, 1, 2, 5));
      for (int partition : List.of(0, 1, 2, 5)) {
        assertThat(all.getOrDefault(partition, Map.of()))
            .as("partition %d", partition)
            .isEqualTo(rows.retrying(c, partition));
      }
      // The rows i = 0, 4, 8, 12, 16, 20 failed: 0 and 12 are key-0 in partition 0 (the earlier
      // retry time wins), 4 and 16 key-4 in partition 1, 8 and 20 key-2 in partition 2.
      assertThat(all.get(0))
          .containsOnlyKeys("key-0")
          .containsEntry("key-0", java.time.Instant.parse("2026-01-01T00:00:00Z"));
      assertThat(all.get(1)).containsOnlyKeys("key-4");
      assertThat(all.get(2)).containsOnlyKeys("key-2");
      assertThat(all).doesNotContainKey(5);
      assertThat(rows.retrying(c, List.of())).isEmpty();
    }
  }

  /**
   * The parked gauges: how many events are parked and the oldest one's age, from one bounded
   * statement, measured once a minute and at once after this relay parked an event; NaN (never a
   * stale value) when the measurement fails.
   */
  @Test
  void parkedGaugesCountTheParkedEventsAndAgeTheOldest() throws Exception {
    // 1,000 rows: every 100th parked (the oldest at 00:00:00), the rest pending or published.
    OutboxDialect dialect =
        outboxWith(
            "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, created_at,"
                + " partition_no, status) SELECT gen_random_uuid(), 'parked', 'key-' || i,"
                + " 'Counted', '\\x30'::bytea,"
                + " TIMESTAMPTZ '2026-01-01 00:00:00+00' + i * INTERVAL '1 second', i % 16,"
                + " CASE WHEN i % 100 = 0 THEN 'DEAD' WHEN i % 2 = 0 THEN 'PUBLISHED'"
                + " ELSE 'PENDING' END FROM generate_series(0, 999) AS i");
    OutboxStats stats = new OutboxStats(dialect, OutboxTable.DEFAULT);
    try (Connection c = db.dataSource().getConnection()) {
      assertThat(stats.parked(c))
          .isEqualTo(new OutboxStats.Parked(10, java.time.Instant.parse("2026-01-01T00:00:00Z")));
    }

    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    RelayMetrics metrics = new RelayMetrics(registry, "outbox_event");
    MutableClock clock = new MutableClock();
    clock.advance(
        Duration.between(clock.instant(), java.time.Instant.parse("2026-01-01T02:00:00Z")));
    ParkedGauges gauges = new ParkedGauges(stats, metrics, clock, ParkedGauges.INTERVAL);
    assertThat(registry.get("outbox.events.parked").gauge().value()).isNaN();
    assertThat(registry.get("outbox.events.parked.oldest.age").gauge().value()).isNaN();
    Jdbc jdbc = new Jdbc(db.dataSource());
    gauges.measureIfDue(jdbc);
    assertThat(registry.get("outbox.events.parked").gauge().value()).isEqualTo(10.0);
    assertThat(registry.get("outbox.events.parked.oldest.age").gauge().value()).isEqualTo(7200.0);

    // The oldest is replayed by an operator: seen within the interval, not before.
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "UPDATE outbox_event SET status = 'PENDING' WHERE status = 'DEAD'"
              + " AND created_at = TIMESTAMPTZ '2026-01-01 00:00:00+00'");
    }
    clock.advance(Duration.ofSeconds(30));
    gauges.measureIfDue(jdbc);
    assertThat(registry.get("outbox.events.parked").gauge().value()).isEqualTo(10.0);
    clock.advance(Duration.ofSeconds(30));
    gauges.measureIfDue(jdbc);
    assertThat(registry.get("outbox.events.parked").gauge().value()).isEqualTo(9.0);
    assertThat(registry.get("outbox.events.parked.oldest.age").gauge().value())
        .isEqualTo(7200.0 + 60 - 100);

    // This relay parks one: measured at once, without waiting for the interval.
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("UPDATE outbox_event SET status = 'DEAD' WHERE aggregateid = 'key-1'");
    }
    metrics.parked();
    clock.advance(Duration.ofSeconds(1));
    gauges.measureIfDue(jdbc);
    assertThat(registry.get("outbox.events.parked").gauge().value()).isEqualTo(10.0);

    // Nothing parked: zero and zero.
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_event");
    }
    clock.advance(ParkedGauges.INTERVAL);
    gauges.measureIfDue(jdbc);
    assertThat(registry.get("outbox.events.parked").gauge().value()).isZero();
    assertThat(registry.get("outbox.events.parked.oldest.age").gauge().value()).isZero();

    // A failed measurement: NaN, not the last value.
    ParkedGauges broken =
        new ParkedGauges(
            new OutboxStats(dialect, OutboxTable.of("no_such_outbox")),
            metrics,
            clock,
            ParkedGauges.INTERVAL);
    broken.measureIfDue(jdbc);
    assertThat(registry.get("outbox.events.parked").gauge().value()).isNaN();
    assertThat(registry.get("outbox.events.parked.oldest.age").gauge().value()).isNaN();
    metrics.close();
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

  /** The relay's tables, with an outbox that holds only the rows {@code inserts} add. */
  private static OutboxDialect outboxWith(String... inserts) throws SQLException {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_event");
      for (String insert : inserts) {
        s.execute(insert);
      }
    }
    return dialect;
  }

  /** The relay's tables, with an empty outbox. */
  private static OutboxDialect emptyOutbox() throws SQLException {
    return outboxWith();
  }
}
