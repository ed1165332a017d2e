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
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Review15 of bc4054f (the bulk path rethrows a failure that is not the database's). */
@ServerTest
class ReplayReview15IntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  /**
   * bc4054f tells the caller's own failure from a failed batch by its cause chain ({@code
   * DatabaseFailures.sqlCause(e) == null}), not by where it was thrown. A progress callback that
   * does database work of its own (it records the progress of a long replay, as an operator tool
   * would, through Spring's {@code JdbcTemplate}: a {@code DataAccessException} whose cause is the
   * driver's {@code SQLException}) and fails after the LAST batch committed is reported as "1 batch
   * committed (…), then one failed; the events after them were not replayed" although every event
   * was replayed and no batch failed, and the caller's exception is replaced by a sanitised copy of
   * its SQL cause (neither thrown, nor a cause, nor suppressed).
   */
  @Test
  void aProgressCallbackFailingWithADatabaseCauseIsNotReportedAsAFailedBatch() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    execute("DELETE FROM outbox_event");
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    for (int i = 0; i < 50; i++) {
      String payload = "{\"n\":" + i + "}";
      tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", payload)));
    }
    execute("UPDATE outbox_event SET status = 'DEAD', last_error = 'parked'");
    AtomicInteger wakeUps = new AtomicInteger();
    ParkedEvents parked =
        new JdbcParkedEvents(
            new Jdbc(db.dataSource()),
            dialect,
            OutboxTable.DEFAULT,
            wakeUps::incrementAndGet,
            Clock.systemUTC());
    // What spring-jdbc's DataAccessException looks like to this code: an unchecked exception
    // whose cause is the driver's SQLException (the caller's own statement failed).
    IllegalStateException callers =
        new IllegalStateException(
            "could not record the replay's progress",
            new SQLException("relation \"replay_progress\" does not exist", "42P01"));
    Throwable thrown =
        org.assertj.core.api.Assertions.catchThrowable(
            () ->
                parked.replay(
                    ParkedFilter.all(),
                    100,
                    (BulkResult progress) -> {
                      throw callers;
                    }));
    System.out.println("[review15] thrown: " + thrown);
    assertThat(count("SELECT COUNT(*) FROM outbox_event WHERE status = 'PENDING'"))
        .as("every parked event was replayed (one batch of 50, committed)")
        .isEqualTo(50);
    assertThat(thrown).as("what the caller gets").isNotNull();
    assertThat(thrown.getMessage())
        .as("no batch failed: the only one committed, then the callback threw")
        .doesNotContain("then one failed");
    assertThat(hasInChain(thrown, callers))
        .as("the caller's own exception is kept (thrown, as a cause or suppressed): " + thrown)
        .isTrue();
  }

  private static boolean hasInChain(Throwable thrown, Throwable wanted) {
    java.util.ArrayDeque<Throwable> todo = new java.util.ArrayDeque<>();
    java.util.Set<Throwable> seen =
        java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    todo.add(thrown);
    while (!todo.isEmpty()) {
      Throwable t = todo.poll();
      if (t == wanted) {
        return true;
      }
      if (!seen.add(t)) {
        continue;
      }
      if (t.getCause() != null) {
        todo.add(t.getCause());
      }
      todo.addAll(java.util.List.of(t.getSuppressed()));
    }
    return false;
  }

  private static int count(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        java.sql.ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
