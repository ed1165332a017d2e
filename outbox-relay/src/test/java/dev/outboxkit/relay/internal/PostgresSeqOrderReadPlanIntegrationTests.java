package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The plan PostgreSQL chooses for the polling read from a read floor ({@code
 * OutboxRows.flooredSeqOrderRead}) over a backlog of 100,000 pending rows in 16 partitions: an
 * index scan of the pending rows' {@code seq} index that starts at the floor ({@code seq >= $n} as
 * its index condition, so the entries below it are not walked) and no sort, both for the read and
 * for the lowest-pending probe.
 */
@ServerTest
class PostgresSeqOrderReadPlanIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @BeforeAll
  static void load() throws Exception {
    RelayTables.create(db.dataSource());
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_event");
      // The same backlog as SeqOrderReadPlanContract's, written in one statement.
      s.execute(
          "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, partition_no,"
              + " status, created_at) SELECT gen_random_uuid(), 'plan', 'key-' || (i % 500),"
              + " 'Planned', convert_to(repeat('x', 100), 'UTF8'), i % 16, 'PENDING', now()"
              + " FROM generate_series(0, 99999) i");
      s.execute("ANALYZE outbox_event");
    }
  }

  @Test
  void aReadFromTheFloorIsAnIndexScanFromTheFloorWithoutASort() throws Exception {
    assertStartsAtTheFloor(IntStream.range(0, 16).boxed().toList(), 125, 50_000);
  }

  @Test
  void aReadOfOneOfFourThreadsWithoutAFloorYetIsTheSameScan() throws Exception {
    assertStartsAtTheFloor(List.of(0, 4, 8, 12), 500, ReadFloor.NONE);
  }

  /**
   * review22: the gauges' backlog measurement ({@code OutboxStats.stats}) probes both ends of the
   * pending rows and counts from the first: every entry it reads must come from the pending rows'
   * {@code seq} index (none from the primary key or the per-partition index), and few of them with
   * a count limit of 10, with 60,000 rows kept as {@code PUBLISHED} at the head.
   */
  @Test
  void theBacklogMeasurementReadsOnlyThePendingSeqIndex() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    OutboxStats stats = new OutboxStats(dialect, OutboxTable.DEFAULT);
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "UPDATE outbox_event SET status = 'PUBLISHED' WHERE seq IN (SELECT seq FROM outbox_event"
              + " ORDER BY seq LIMIT 60000)");
      try {
        s.execute("VACUUM ANALYZE outbox_event");
        OutboxStats.Stats warm = stats.stats(c, 10);
        Map<String, Long> before = indexReads(s);
        OutboxStats.Stats measured = stats.stats(c, 10);
        Map<String, Long> after = indexReads(s);
        Map<String, Long> read = new java.util.TreeMap<>();
        after.forEach((index, n) -> read.put(index, n - before.getOrDefault(index, 0L)));
        assertThat(measured).isEqualTo(warm);
        assertThat(measured.backlog()).isEqualTo(40_000);
        assertThat(read)
            .as("index entries read by one backlog measurement, by index")
            .allSatisfy(
                (index, n) -> {
                  if (!index.equals("outbox_event_pending_seq_idx")) {
                    assertThat(n).as(index).isZero();
                  } else {
                    assertThat(n).as(index).isBetween(1L, 1_000L);
                  }
                });
      } finally {
        s.execute("UPDATE outbox_event SET status = 'PENDING' WHERE status = 'PUBLISHED'");
        s.execute("VACUUM ANALYZE outbox_event");
      }
    }
  }

  /**
   * review22: docs/upgrading.md says relays work without the version-8 index (a rolling upgrade may
   * add it after they start). The gauges' per-partition probes walked the version-1 index {@code
   * (partition_no, seq) WHERE status = 'PENDING'}; the one probe over all partitions has no index
   * in {@code seq} order among the pending rows without version 8: with 60,000 rows kept as {@code
   * PUBLISHED} at the head (retention) it walks them, or all the pending rows.
   */
  @Test
  void withoutTheVersion8IndexTheBacklogMeasurementStillReadsOnlyTheEnds() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    OutboxStats stats = new OutboxStats(dialect, OutboxTable.DEFAULT);
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DROP INDEX outbox_event_pending_seq_idx");
      s.execute(
          "UPDATE outbox_event SET status = 'PUBLISHED' WHERE seq IN (SELECT seq FROM outbox_event"
              + " ORDER BY seq LIMIT 60000)");
      try {
        s.execute("VACUUM ANALYZE outbox_event");
        OutboxStats.Stats warm = stats.stats(c, 10);
        long before = tuplesRead(s);
        OutboxStats.Stats measured = stats.stats(c, 10);
        long read = tuplesRead(s) - before;
        assertThat(measured).isEqualTo(warm);
        assertThat(measured.backlog()).isEqualTo(40_000);
        assertThat(read)
            .as("index entries and rows read by one backlog measurement without version 8")
            .isLessThan(1_000);
      } finally {
        s.execute("UPDATE outbox_event SET status = 'PENDING' WHERE status = 'PUBLISHED'");
        s.execute(
            "CREATE INDEX IF NOT EXISTS outbox_event_pending_seq_idx ON outbox_event (seq) WHERE"
                + " status = 'PENDING'");
        s.execute("ANALYZE outbox_event");
      }
    }
  }

  private static long tuplesRead(Statement s) throws java.sql.SQLException {
    s.execute("SELECT pg_stat_force_next_flush()");
    try (ResultSet rs =
        s.executeQuery(
            "SELECT COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0) + (SELECT"
                + " COALESCE(SUM(idx_tup_read), 0) FROM pg_stat_user_indexes WHERE relname ="
                + " 'outbox_event') FROM pg_stat_user_tables WHERE relname = 'outbox_event'")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static Map<String, Long> indexReads(Statement s) throws java.sql.SQLException {
    s.execute("SELECT pg_stat_force_next_flush()");
    Map<String, Long> reads = new java.util.HashMap<>();
    try (ResultSet rs =
        s.executeQuery(
            "SELECT indexrelname, idx_tup_read FROM pg_stat_user_indexes WHERE relname ="
                + " 'outbox_event'")) {
      while (rs.next()) {
        reads.put(rs.getString(1), rs.getLong(2));
      }
    }
    return reads;
  }

  private void assertStartsAtTheFloor(List<Integer> partitions, int perPartition, long floor)
      throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    OutboxRows rows = new OutboxRows(dialect, OutboxTable.DEFAULT);
    List<String> plan = new ArrayList<>();
    try (Connection c = db.dataSource().getConnection()) {
      OutboxRows.Statement read =
          rows.flooredSeqOrderRead(
              c,
              partitions,
              perPartition,
              Map.of(partitions.get(0), List.of("key-1", "key-2")),
              Map.of(),
              4L * 1024 * 1024,
              floor,
              "12345");
      try (PreparedStatement explain = c.prepareStatement("EXPLAIN " + read.sql())) {
        OutboxRows.bind(explain, read.binds());
        try (ResultSet rs = explain.executeQuery()) {
          while (rs.next()) {
            plan.add(rs.getString(1));
          }
        }
      }
    }
    System.out.println("[read-plan] PostgreSQL floor " + floor + ":\n" + String.join("\n", plan));
    String text = String.join("\n", plan);
    assertThat(text).doesNotContain("Sort").doesNotContain("Seq Scan on outbox_event");
    assertThat(plan.stream().filter(l -> l.contains("Index Scan")).toList())
        .as("the read and the lowest-pending probe, in %s", text)
        .hasSize(2)
        .allMatch(l -> l.contains("using outbox_event_pending_seq_idx on outbox_event"));
    assertThat(plan.stream().filter(l -> l.contains("Index Cond")).toList())
        .as("both start at the floor, in %s", text)
        .hasSize(2)
        .allMatch(l -> l.contains("seq >="));
  }
}
