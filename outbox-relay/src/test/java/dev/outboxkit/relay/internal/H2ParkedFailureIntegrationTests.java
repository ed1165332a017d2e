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
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a refused replay tells the operator on H2 (review16): the same refusal as {@link
 * MySqlFamilyParkedFailureContract}'s, a unique key on (aggregateid, status) added after the event
 * was parked. H2's first line quotes the key's values itself ({@code Unique index or primary key
 * violation: "PUBLIC.… ON PUBLIC.OUTBOX_EVENT(AGGREGATEID …, STATUS …) VALUES (... 'card-4111…',
 * 'PENDING' )"}), and {@code H2RelaySql} keeps the first line as it is.
 */
@ServerTest
class H2ParkedFailureIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.h2();

  private static final String CARD = "4111111111111111";

  @Test
  void aRefusedReplayNamesTheKeyButNoValueOfTheRow() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    execute("DELETE FROM outbox_event");
    execute("DELETE FROM outbox_audit");
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    UUID replayed = append(tx, outbox).id();
    execute("UPDATE outbox_event SET status = 'DEAD', last_error = 'parked'");
    append(tx, outbox); // pending, same key
    execute("CREATE UNIQUE INDEX parked_failure_key_status ON outbox_event (aggregateid, status)");
    ParkedEvents parked =
        new JdbcParkedEvents(
            new Jdbc(db.dataSource()), dialect, OutboxTable.DEFAULT, () -> {}, Clock.systemUTC());
    Throwable thrown;
    try {
      thrown = catchThrowable(() -> parked.replay(List.of(replayed)));
    } finally {
      execute("DROP INDEX parked_failure_key_status");
    }
    AuditEntry failed = parked.auditTrail().list(10, null).get(0);
    System.out.println("[review16-h2] FAILED record's reason: " + failed.reason());
    System.out.println("[review16-h2] thrown: " + thrown + " caused by " + thrown.getCause());
    assertThat(failed.outcome()).isEqualTo(AuditEntry.Outcome.FAILED);
    assertThat(failed.reason())
        .as("the FAILED record's reason")
        .contains("Unique index or primary key violation", "PARKED_FAILURE_KEY_STATUS", "23505")
        .doesNotContain(CARD);
    StringBuilder chain = new StringBuilder();
    for (Throwable t = thrown; t != null; t = t.getCause()) {
      chain.append(t).append(" | ");
    }
    assertThat(chain.toString())
        .as("the exception the caller gets, and its causes")
        .contains("PARKED_FAILURE_KEY_STATUS", "23505")
        .doesNotContain(CARD);
  }

  private static OutboxEvent append(JdbcTransactions tx, Outbox outbox) throws Exception {
    return tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "card-" + CARD, "E", "{}")));
  }

  private static void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
