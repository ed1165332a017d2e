package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.BulkResult;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.relay.ParkedFilter;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A purge by filter deletes what its filter matched when the call began (review16): the page is
 * read once, then each batch resolves its ids to rows again by {@code status = 'DEAD' AND id = ?}
 * alone ({@code ParkedPurge.delete}), with neither the filter nor the call's {@code upTo} seq. An
 * event of a later batch that a second operator replayed meanwhile, and that the relay parked again
 * for another reason, is deleted for good although it no longer matches the filter and was parked
 * after the call began ({@code ParkedEvents.replay(ParkedFilter, ...)} says events parked again
 * meanwhile wait for another call). The second operator acts in the progress callback, between the
 * first batch and the second: the schedule of an operator working beside a long bulk purge.
 */
@ServerTest
class H2ParkedBulkFilterIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.h2();

  @Test
  void aBulkPurgeByErrorDoesNotDeleteAnEventParkedAgainForAnotherErrorMeanwhile() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    execute("DELETE FROM outbox_event");
    execute("DELETE FROM outbox_audit");
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    UUID first = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k1", "E", "{}"))).id();
    UUID second = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k2", "E", "{}"))).id();
    execute("UPDATE outbox_event SET status = 'DEAD', last_error = 'broker timeout'");
    ParkedEvents parked =
        new JdbcParkedEvents(
            new Jdbc(db.dataSource()), dialect, OutboxTable.DEFAULT, () -> {}, Clock.systemUTC());
    boolean[] once = {false};
    BulkResult result =
        parked.purge(
            ParkedFilter.all().withErrorLike("timeout"),
            1,
            progress -> {
              if (!once[0]) {
                once[0] = true;
                // A second operator replays the second event; the relay parks its copy again,
                // for another reason.
                assertThat(parked.replay(List.of(second))).isOne();
                try {
                  execute(
                      "UPDATE outbox_event SET status = 'DEAD', last_error = 'schema rejected'"
                          + " WHERE id = '"
                          + second
                          + "'");
                } catch (SQLException e) {
                  throw new IllegalStateException(e);
                }
              }
            });
    System.out.println("[review16-bulk] result: " + result);
    assertThat(status(first)).as("the first event, purged by the first batch").isNull();
    assertThat(status(second))
        .as("the second event, parked again for 'schema rejected' after the purge began")
        .isEqualTo("DEAD");
  }

  private static String status(UUID id) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement s = c.prepareStatement("SELECT status FROM outbox_event WHERE id = ?")) {
      s.setObject(1, id);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  private static void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
