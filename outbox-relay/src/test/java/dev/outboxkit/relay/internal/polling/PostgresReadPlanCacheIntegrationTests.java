package dev.outboxkit.relay.internal.polling;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.ReadFloor;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The polling reads bind the rows in flight and the held keys as arrays; PostgreSQL must plan them
 * with those values at every execution, never with one plan for every value (a generic plan), where
 * {@code seq <> ALL(array)} is a walk of the whole array for every row read instead of a hash
 * lookup.
 *
 * <p>Found by the drain benchmark (2026-12-07): with the read floor the relay drained 50,000 events
 * at 0.50 of the hand-rolled relay, against 0.90 with the floor's trigger disabled. The floored
 * read, prepared on the server by pgjdbc after its fifth execution, took PostgreSQL's generic plan:
 * 66–73 ms per read of 2,000 rows of 1 KiB with 2,000 in flight, against 11–13 ms planned with the
 * values.
 */
@ServerTest
class PostgresReadPlanCacheIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @Test
  void theReadsArePlannedWithTheirValuesHoweverOftenTheyRun() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_event");
      s.execute(
          "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, partition_no,"
              + " status, created_at) SELECT gen_random_uuid(), 'plan', 'key-' || (i % 500),"
              + " 'Planned', convert_to(repeat('x', 1024), 'UTF8'), i % 8, 'PENDING', now()"
              + " FROM generate_series(0, 19999) i");
      s.execute("VACUUM ANALYZE outbox_event");
    }
    // One connection, so that the statements pgjdbc prepared on the server stay to be looked at.
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(db.jdbcUrl());
    config.setUsername(db.database().username());
    config.setPassword(db.database().password());
    config.setMaximumPoolSize(1);
    try (HikariDataSource one = new HikariDataSource(config)) {
      PollingStore store =
          new JdbcPollingStore(
              new Jdbc(one),
              new OutboxRows(dialect, OutboxTable.DEFAULT),
              null,
              Clock.systemUTC(),
              n -> {});
      Set<Integer> partitions = IntStream.range(0, 8).boxed().collect(Collectors.toSet());
      List<PendingEvent> inFlight =
          store
              .fetch(partitions, 250, Map.of(), List.of(), Map.of(), 64L << 20, ReadFloor.off())
              .rows();
      assertThat(inFlight).hasSize(2_000);
      ReadFloor floor = new ReadFloor(() -> true);
      for (int i = 0; i < 12; i++) {
        assertThat(
                store.fetch(partitions, 250, Map.of(), inFlight, Map.of(), 64L << 20, floor).rows())
            .as("the read ahead of 2,000 in flight")
            .hasSize(2_000);
        assertThat(
                store
                    .fetch(
                        partitions, 250, Map.of(), inFlight, Map.of(), 64L << 20, ReadFloor.off())
                    .rows())
            .hasSize(2_000);
      }
      List<String> plans = new ArrayList<>();
      try (Connection c = one.getConnection();
          Statement s = c.createStatement();
          ResultSet rs =
              s.executeQuery(
                  "SELECT generic_plans, custom_plans, left(statement, 60) FROM"
                      + " pg_prepared_statements WHERE statement LIKE '%upto%'")) {
        while (rs.next()) {
          plans.add(rs.getLong(1) + " generic, " + rs.getLong(2) + " custom: " + rs.getString(3));
        }
      }
      assertThat(plans)
          .as("the reads prepared on the server (both kept their binary results)")
          .hasSize(2)
          .allMatch(p -> p.startsWith("0 generic"), "planned with their values every time");
    }
  }
}
