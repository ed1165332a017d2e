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
 * A replay refused by a team's trigger whose message quotes the row (review16): PL/pgSQL's {@code
 * RAISE EXCEPTION 'refused key %', NEW.aggregateid} puts the value in the first line (SQLState
 * P0001), which DatabaseFailures keeps as it is. The same holds for MySQL's and MariaDB's {@code
 * SIGNAL ... SET MESSAGE_TEXT} (SQLState 45000, vendor code 1644). Unlike the databases' own
 * messages, this text is the team's: whether to leave it out (keeping the SQLState) or to document
 * it is the lead's call.
 */
@ServerTest
class PostgresParkedRaiseIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private static final String CARD = "4111111111111111";

  @Test
  void aReplayRefusedByATriggerThatQuotesTheRowLeavesNoValueInTheRecord() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    execute("DELETE FROM outbox_event WHERE aggregatetype = 'parked-raise'");
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    UUID replayed = append(tx, outbox).id();
    execute(
        "UPDATE outbox_event SET status = 'DEAD', last_error = 'parked' WHERE id = '"
            + replayed
            + "'");
    execute(
        "CREATE OR REPLACE FUNCTION parked_raise_refuse() RETURNS trigger AS $$ BEGIN"
            + " IF NEW.aggregatetype = 'parked-raise' THEN"
            + " RAISE EXCEPTION 'refused key %', NEW.aggregateid; END IF; RETURN NEW; END $$"
            + " LANGUAGE plpgsql");
    execute(
        "CREATE TRIGGER parked_raise_refuse BEFORE INSERT ON outbox_event"
            + " FOR EACH ROW EXECUTE FUNCTION parked_raise_refuse()");
    ParkedEvents parked =
        new JdbcParkedEvents(
            new Jdbc(db.dataSource()), dialect, OutboxTable.DEFAULT, () -> {}, Clock.systemUTC());
    Throwable thrown;
    try {
      thrown = catchThrowable(() -> parked.replay(List.of(replayed)));
    } finally {
      execute("DROP TRIGGER parked_raise_refuse ON outbox_event");
      execute("DROP FUNCTION parked_raise_refuse()");
    }
    AuditEntry failed =
        parked.auditTrail().list(10, null).stream()
            .filter(e -> e.outcome() == AuditEntry.Outcome.FAILED)
            .findFirst()
            .orElseThrow();
    System.out.println("[review16-raise] FAILED record's reason: " + failed.reason());
    assertThat(thrown).isNotNull();
    assertThat(failed.reason())
        .as("the FAILED record's reason")
        .contains("P0001")
        .doesNotContain(CARD);
  }

  private static OutboxEvent append(JdbcTransactions tx, Outbox outbox) throws Exception {
    return tx.inTransaction(
        c -> outbox.append(OutboxMessage.of("parked-raise", "card-" + CARD, "E", "{}")));
  }

  private static void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
