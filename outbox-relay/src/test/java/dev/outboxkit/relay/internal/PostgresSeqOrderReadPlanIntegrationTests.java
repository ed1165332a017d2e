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
