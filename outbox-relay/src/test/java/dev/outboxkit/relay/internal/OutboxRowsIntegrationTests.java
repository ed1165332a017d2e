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
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The relay's reads of the outbox against a real PostgreSQL. */
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
              Map.of());
    }
    assertThat(fetched.rows()).hasSize(199);
    assertThat(fetched.rows())
        .as("the first held key of a partition is still left out in SQL")
        .noneMatch(r -> r.key().equals("key-0"));
  }
}
