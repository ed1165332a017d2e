package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.ParkedFilter;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The statements over parked rows on PostgreSQL, with 100,000 pending rows and none parked: the
 * pending indexes are partial, so without the parked index of schema version 13 ({@code
 * outbox_event_parked_idx}) each of them reads the whole table to find that nothing is parked. The
 * parked gauges' count ran once a minute as a sequential scan of 10 GB during a drain of 10 M
 * events (7.5 s on average, next to the drain and the lease heartbeats).
 */
@ServerTest
class PostgresParkedPlanIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private static OutboxDialect dialect;

  @BeforeAll
  static void load() throws Exception {
    dialect = RelayTables.create(db.dataSource());
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_event");
      s.execute(
          "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, partition_no,"
              + " status, created_at) SELECT gen_random_uuid(), 'plan', 'key-' || (i % 500),"
              + " 'Planned', convert_to(repeat('x', 100), 'UTF8'), i % 16, 'PENDING', now()"
              + " FROM generate_series(0, 99999) i");
      s.execute("VACUUM ANALYZE outbox_event");
    }
  }

  @Test
  void theParkedGaugesCountReadsTheParkedIndexNotTheTable() throws Exception {
    OutboxStats stats = new OutboxStats(dialect, OutboxTable.DEFAULT);
    List<String> plan = new ArrayList<>();
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement explain = c.prepareStatement("EXPLAIN " + stats.parkedSql())) {
      explain.setInt(1, OutboxStats.PARKED_COUNT_LIMIT);
      try (ResultSet rs = explain.executeQuery()) {
        while (rs.next()) {
          plan.add(rs.getString(1));
        }
      }
    }
    String text = String.join("\n", plan);
    System.out.println("[parked-plan] PostgreSQL, 100,000 pending, none parked:\n" + text);
    assertThat(text)
        .as("the plan of OutboxStats.parked")
        .doesNotContain("Seq Scan")
        .contains("Index Only Scan using outbox_event_parked_idx on outbox_event");
  }

  /**
   * The listings and bulk operations' reads ({@link ParkedScan}: the newest parked {@code seq}, a
   * page in {@code seq} order) find that nothing is parked without reading the table: the
   * database's own counters say so, read before and after them in one transaction (a backend sends
   * its counters on only between transactions, so the difference is theirs alone). The two rows
   * fetched are the planner's: for a {@code seq} bound outside its statistics it looks up the
   * column's actual lowest and highest value through the primary key, one row each, with or without
   * the parked index (without it the reads were 2 sequential scans of 200,000 rows).
   */
  @Test
  void theParkedListingsReadNoPendingRow() throws Exception {
    ParkedScan scan = new ParkedScan(dialect, OutboxTable.DEFAULT.qualifiedName());
    try (Connection c = db.dataSource().getConnection()) {
      c.setAutoCommit(false);
      try {
        long[] before = tableReads(c);
        long newest = scan.newestSeq(c);
        ParkedScan.Page page = scan.page(c, ParkedFilter.all(), Long.MIN_VALUE, Long.MAX_VALUE);
        long[] after = tableReads(c);
        assertThat(newest).isEqualTo(Long.MIN_VALUE);
        assertThat(page.events()).isEmpty();
        assertThat(List.of(after[0] - before[0], after[1] - before[1]))
            .as("sequential scans of the outbox table and the rows they read")
            .containsExactly(0L, 0L);
        assertThat(after[2] - before[2])
            .as("rows fetched through an index (the planner's look-up of the seq extremes)")
            .isLessThanOrEqualTo(2);
      } finally {
        c.rollback();
      }
    }
  }

  /** This backend's counters of the outbox table not sent on yet (pg_stat_xact_user_tables). */
  private static long[] tableReads(Connection c) throws Exception {
    try (Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT seq_scan, seq_tup_read, idx_tup_fetch FROM pg_stat_xact_user_tables"
                    + " WHERE relname = 'outbox_event'")) {
      assertThat(rs.next()).isTrue();
      return new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3)};
    }
  }
}
