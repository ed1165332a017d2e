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

/**
 * Review14 of 71c3cf6 (the bulk path's partial failure). UNRUN: written without Maven (the build
 * lock was the lead's); expected to fail on d420ffe.
 */
@ServerTest
class ReplayReview14IntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  /**
   * bulk() now catches every RuntimeException after a committed batch and throws {@code
   * OutboxStoreException("... N batches committed ..., then one failed ...", new
   * SQLException(DatabaseFailures.reason(e)))}: the original exception is dropped (not a cause, not
   * suppressed, no stack trace), and the message says a batch failed. The caller's own {@code
   * progress} callback runs after each commit, inside that try: a caller that stops a long replay
   * from its callback (a CLI interrupted, an HTTP client gone), or a bug in it, gets an
   * OutboxStoreException saying a batch failed after the batch that did commit, and loses its own
   * exception. The same for any non-SQL failure (a NullPointerException in the scan): the operator
   * gets "SQLException: NullPointerException: ..." without the stack trace that locates it.
   */
  @Test
  void aProgressCallbackThatThrowsIsNotReportedAsAFailedBatchAndKeepsItsException()
      throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    execute("DELETE FROM outbox_event");
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    for (int i = 0; i < 150; i++) {
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
    IllegalStateException stop = new IllegalStateException("stopped by the caller");
    Throwable thrown =
        org.assertj.core.api.Assertions.catchThrowable(
            () ->
                parked.replay(
                    ParkedFilter.all(),
                    100,
                    (BulkResult progress) -> {
                      throw stop;
                    }));
    System.out.println("[review14] thrown: " + thrown);
    assertThat(wakeUps.get()).as("wake-ups after 100 committed copies").isPositive();
    assertThat(thrown).as("what the caller gets").isNotNull();
    assertThat(thrown == stop || thrown.getCause() == stop || hasInChain(thrown, stop))
        .as("the caller's own exception is kept (thrown, as a cause or suppressed): " + thrown)
        .isTrue();
    assertThat(thrown.getMessage())
        .as("no batch failed: the first one committed, then the callback threw")
        .doesNotContain("then one failed");
  }

  private static boolean hasInChain(Throwable thrown, Throwable wanted) {
    for (Throwable t = thrown; t != null; t = t.getCause()) {
      if (t == wanted) {
        return true;
      }
      for (Throwable s : t.getSuppressed()) {
        if (s == wanted) {
          return true;
        }
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return false;
  }

  private static void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
