package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.AuditEntry;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a refused replay tells the operator on PostgreSQL: enough to act on (the SQLState, the
 * constraint and the table), never the row's values.
 */
@ServerTest
class PostgresParkedFailureIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private static final String CARD = "4111111111111111";

  private Outbox outbox;
  private JdbcTransactions tx;
  private ParkedEvents parked;

  @BeforeEach
  void setUp() throws SQLException {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    execute("DELETE FROM outbox_event WHERE aggregatetype = 'parked-failure'");
    tx = JdbcTransactions.of(db.dataSource());
    outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    parked =
        new JdbcParkedEvents(
            new Jdbc(db.dataSource()), dialect, OutboxTable.DEFAULT, () -> {}, Clock.systemUTC());
  }

  /**
   * Parked finding 2: a replay refused by a unique index (here one pending event per key, added by
   * a team after the event was parked). PostgreSQL's first line names the index but not the table,
   * nor the SQLState, and its DETAIL ("Key (aggregateid)=(card-4111...) already exists.") holds the
   * row's values: only the first line was kept, so the record said "duplicate key value violates
   * unique constraint" and no more. The record and the exception must carry the SQLState, the
   * constraint and the table (pgjdbc's server error fields), and still none of the values.
   *
   * <p>Before the fix it failed with "[the FAILED record's reason] Expecting actual:
   * "PSQLException: ERROR: duplicate key value violates unique constraint
   * "parked_failure_one_pending"" to contain: ["parked_failure_one_pending", "23505",
   * "outbox_event"] but could not find: ["23505", "outbox_event"]".
   */
  @Test
  void aRefusedReplayNamesTheSqlStateConstraintAndTableButNoValueOfTheRow() throws Exception {
    String payload = "{\"card\":\"" + CARD + "\"}";
    UUID replayed = append("card-" + CARD, payload);
    execute(
        "UPDATE outbox_event SET status = 'DEAD', last_error = 'parked' WHERE id = '"
            + replayed
            + "'");
    append("card-" + CARD, payload); // pending, same key
    execute(
        "CREATE UNIQUE INDEX parked_failure_one_pending ON outbox_event (aggregateid)"
            + " WHERE status = 'PENDING' AND aggregatetype = 'parked-failure'");
    Throwable thrown;
    try {
      thrown = catchThrowable(() -> parked.replay(List.of(replayed)));
    } finally {
      execute("DROP INDEX parked_failure_one_pending");
    }
    AuditEntry failed =
        parked.auditTrail().list(10, null).stream()
            .filter(e -> e.outcome() == AuditEntry.Outcome.FAILED)
            .findFirst()
            .orElseThrow();
    System.out.println("[parked-2] FAILED record's reason: " + failed.reason());
    System.out.println("[parked-2] thrown: " + thrown + " caused by " + thrown.getCause());
    String hex = HexFormat.of().formatHex(payload.getBytes(StandardCharsets.UTF_8));
    assertThat(failed.reason())
        .as("the FAILED record's reason")
        .contains("parked_failure_one_pending", "23505", "outbox_event")
        .doesNotContain(CARD, hex);
    StringBuilder chain = new StringBuilder();
    for (Throwable t = thrown; t != null; t = t.getCause()) {
      chain.append(t).append(" | ");
      assertThat(t.getSuppressed()).as("suppressed by " + t).isEmpty();
    }
    assertThat(chain.toString())
        .as("the exception the caller gets, and its causes")
        .contains("parked_failure_one_pending", "23505", "outbox_event")
        .doesNotContain(CARD, hex);
    assertThat(((SQLException) thrown.getCause()).getSQLState()).isEqualTo("23505");
  }

  private UUID append(String key, String payload) throws Exception {
    OutboxEvent event =
        tx.inTransaction(c -> outbox.append(OutboxMessage.of("parked-failure", key, "E", payload)));
    return event.id();
  }

  private static void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
