package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The plan MySQL and MariaDB choose for the polling read in {@code seq} order ({@code
 * OutboxRows.seqOrderRead}) over a backlog of 100,000 pending rows in 16 partitions: the outbox
 * table must be walked in {@code seq} order without a filesort, through the index of pending rows
 * of schema version 8 or the primary key (which is {@code seq}; MariaDB takes it for a read that
 * leaves a long list of in-flight rows out, and with only pending rows in the table it is the
 * cheaper walk, since the version-8 index has no {@code partition_no} to filter on), so that a read
 * of 2,000 rows stops after the rows it needs instead of reading and sorting the owned partitions'
 * whole backlog through the version-1 index {@code (status, partition_no, seq)}. And the wide rows
 * (payloads) are read once, by primary key, after the budget: the derived tables, which these
 * databases materialize and sort, carry only {@code seq} and the size. A plan regression fails
 * here, not only as a slower drain.
 */
abstract class SeqOrderReadPlanContract {

  static final int EVENTS = 100_000;
  static final int PARTITIONS = 16;

  abstract TestDatabaseExtension db();

  static void loadBacklog(TestDatabaseExtension db) throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox =
        Outbox.builder().connectionProvider(tx).dialect(dialect).partitions(PARTITIONS).build();
    String payload = "x".repeat(100);
    for (int from = 0; from < EVENTS; from += 2_000) {
      int start = from;
      tx.execute(
          c ->
              outbox.appendAll(
                  IntStream.range(start, start + 2_000)
                      .mapToObj(
                          i -> OutboxMessage.of("plan", "key-" + (i % 500), "Planned", payload))
                      .toList()));
    }
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("ANALYZE TABLE outbox_event");
    }
  }

  /** One relay owning every partition (one thread), a few keys held for a retry. */
  @Test
  void aReadOverEveryPartitionWalksInSeqOrderWithoutASort() throws Exception {
    List<Integer> all = IntStream.range(0, PARTITIONS).boxed().toList();
    assertWalksInSeqOrder("every partition, 3 held keys", all, 125, held(all), Map.of());
  }

  /**
   * One of four publishing threads (its partitions every fourth), with its previous batch of 2,000
   * in flight (a read ahead): the shape where the version-1 index {@code (status, partition_no,
   * seq)} is the tempting plan, a range of a quarter of the backlog then sorted.
   */
  @Test
  void aReadAheadOfOneOfFourThreadsWalksInSeqOrderWithoutASort() throws Exception {
    List<Integer> quarter = List.of(0, 4, 8, 12);
    Map<Integer, List<Long>> inFlight = new HashMap<>();
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT partition_no, seq FROM outbox_event WHERE partition_no IN (0, 4, 8, 12)"
                    + " ORDER BY seq LIMIT 2000")) {
      while (rs.next()) {
        inFlight.computeIfAbsent(rs.getInt(1), p -> new ArrayList<>()).add(rs.getLong(2));
      }
    }
    assertWalksInSeqOrder(
        "4 of 16 partitions, 3 held keys, 2,000 in flight", quarter, 500, held(quarter), inFlight);
  }

  /**
   * review22: the gauges' backlog measurement ({@code OutboxStats.stats}) must not walk the rows
   * kept as {@code PUBLISHED} at the head (retention). MySQL 8 planned the one probe over all
   * partitions ({@code ORDER BY seq LIMIT 1}) over the primary key, through all of them (60,028
   * reads for 60,000 published rows); MySQL and MariaDB probe per partition through the version-1
   * index instead. Measured by the session's handler reads, with a count limit of 10.
   */
  @Test
  void theBacklogMeasurementReadsOnlyTheEndsOfThePendingRowsWithPublishedRowsKeptAtTheHead()
      throws Exception {
    OutboxDialect dialect = RelayTables.create(db().dataSource());
    OutboxStats stats = new OutboxStats(dialect, OutboxTable.DEFAULT);
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement()) {
      try {
        measuresWithPublishedRowsAtTheHead(stats, c, s);
      } finally {
        s.execute("UPDATE outbox_event SET status = 'PENDING' WHERE status = 'PUBLISHED'");
        s.execute("ANALYZE TABLE outbox_event");
      }
    }
  }

  /**
   * review22: docs/upgrading.md says relays work without the version-8 index (a rolling upgrade may
   * add it after they start). The gauges' per-partition probes used the version-1 index {@code
   * (status, partition_no, seq)}; the one probe over all partitions ({@code ORDER BY seq LIMIT 1})
   * has no index in that order without version 8: with 60,000 rows kept as {@code PUBLISHED} at the
   * head (retention) it walks them, or sorts the pending rows.
   */
  @Test
  void withoutTheVersion8IndexTheBacklogMeasurementStillReadsOnlyTheEnds() throws Exception {
    OutboxDialect dialect = RelayTables.create(db().dataSource());
    OutboxStats stats = new OutboxStats(dialect, OutboxTable.DEFAULT);
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DROP INDEX outbox_event_pending_seq_idx ON outbox_event");
      try {
        measuresWithPublishedRowsAtTheHead(stats, c, s);
      } finally {
        s.execute("UPDATE outbox_event SET status = 'PENDING' WHERE status = 'PUBLISHED'");
        s.execute("CREATE INDEX outbox_event_pending_seq_idx ON outbox_event (status, seq)");
        s.execute("ANALYZE TABLE outbox_event");
      }
    }
  }

  /**
   * Keeps the first 60,000 rows as {@code PUBLISHED} (retention), then measures the backlog with a
   * count limit of 10: the figures, and fewer than 1,000 rows and index entries read (the session's
   * handler reads).
   */
  private static void measuresWithPublishedRowsAtTheHead(
      OutboxStats stats, Connection c, Statement s) throws java.sql.SQLException {
    s.execute(
        "UPDATE outbox_event SET status = 'PUBLISHED' WHERE seq IN (SELECT seq FROM (SELECT seq"
            + " FROM outbox_event ORDER BY seq LIMIT 60000) head)");
    s.execute("ANALYZE TABLE outbox_event");
    OutboxStats.Stats warm = stats.stats(c, 10);
    s.execute("FLUSH STATUS");
    OutboxStats.Stats measured = stats.stats(c, 10);
    Map<String, Long> handler = handlerReads(s);
    long read = handler.values().stream().mapToLong(Long::longValue).sum();
    assertThat(measured).isEqualTo(warm);
    assertThat(measured.backlog()).isEqualTo(EVENTS - 60_000);
    assertThat(read)
        .as("rows and index entries read by one backlog measurement, in %s", handler)
        .isLessThan(1_000);
  }

  private static Map<String, Long> handlerReads(Statement s) throws java.sql.SQLException {
    Map<String, Long> handler = new HashMap<>();
    try (ResultSet rs = s.executeQuery("SHOW SESSION STATUS LIKE 'Handler_read%'")) {
      while (rs.next()) {
        handler.put(rs.getString(1), rs.getLong(2));
      }
    }
    return handler;
  }

  private Map<Integer, List<String>> held(List<Integer> partitions) throws Exception {
    Map<Integer, List<String>> held = new HashMap<>();
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT DISTINCT partition_no, aggregateid FROM outbox_event"
                    + " WHERE aggregateid IN ('key-1', 'key-2', 'key-3')")) {
      while (rs.next()) {
        if (partitions.contains(rs.getInt(1))) {
          held.computeIfAbsent(rs.getInt(1), p -> new ArrayList<>()).add(rs.getString(2));
        }
      }
    }
    return held;
  }

  private void assertWalksInSeqOrder(
      String shape,
      List<Integer> partitions,
      int perPartition,
      Map<Integer, List<String>> held,
      Map<Integer, List<Long>> inFlight)
      throws Exception {
    OutboxDialect dialect = RelayTables.create(db().dataSource());
    OutboxRows rows = new OutboxRows(dialect, OutboxTable.DEFAULT);
    List<Map<String, String>> plan = new ArrayList<>();
    try (Connection c = db().dataSource().getConnection()) {
      OutboxRows.Statement read =
          rows.seqOrderRead(c, partitions, perPartition, held, inFlight, 4L * 1024 * 1024);
      try (PreparedStatement explain = c.prepareStatement("EXPLAIN " + read.sql())) {
        OutboxRows.bind(explain, read.binds());
        try (ResultSet rs = explain.executeQuery()) {
          while (rs.next()) {
            plan.add(
                Map.of(
                    "table", String.valueOf(rs.getString("table")),
                    "type", String.valueOf(rs.getString("type")),
                    "key", String.valueOf(rs.getString("key")),
                    "rows", String.valueOf(rs.getString("rows")),
                    "Extra", String.valueOf(rs.getString("Extra"))));
          }
        }
      }
      try (PreparedStatement explain = c.prepareStatement("EXPLAIN FORMAT=JSON " + read.sql())) {
        OutboxRows.bind(explain, read.binds());
        try (ResultSet rs = explain.executeQuery()) {
          rs.next();
          System.out.println(
              "[read-plan] " + getClass().getSimpleName() + " " + shape + ": " + plan);
          System.out.println("[read-plan-json] " + rs.getString(1).replaceAll("\\s+", " "));
        }
      }
    }
    assertThat(plan)
        .as("%s: the walk of the outbox table in %s", shape, plan)
        .filteredOn(step -> step.get("table").equals("outbox_event"))
        .singleElement()
        .satisfies(
            step -> {
              assertThat(step.get("key")).isIn("outbox_event_pending_seq_idx", "PRIMARY");
              assertThat(step.get("Extra")).doesNotContain("filesort");
            });
    assertThat(plan)
        .as("%s: the rows within the budget read once by primary key, in %s", shape, plan)
        .filteredOn(step -> step.get("table").equals("o"))
        .singleElement()
        .satisfies(
            step -> {
              assertThat(step.get("type")).isEqualTo("eq_ref");
              assertThat(step.get("key")).isEqualTo("PRIMARY");
            });
  }
}
