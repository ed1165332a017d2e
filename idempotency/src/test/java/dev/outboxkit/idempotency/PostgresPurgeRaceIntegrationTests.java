package dev.outboxkit.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.MutableClock;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * On PostgreSQL a claim's {@code INSERT … ON CONFLICT DO NOTHING} takes no lock on the expired row
 * it conflicts with, so the purge (or a caller replacing the key) may delete that row between the
 * claim and the read of it. The key is then absent: the call must claim it afresh and run the work,
 * not tell its caller the key is in flight (an HTTP 409 for a request whose key merely expired).
 * Found by the chaos kit's writers with a purge beside them (4 and 5 such answers per run).
 */
@ServerTest
class PostgresPurgeRaceIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @Test
  void anExpiredKeyDeletedBetweenTheClaimAndItsReadIsClaimedAfresh() throws Exception {
    OutboxDialect dialect;
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      dialect = OutboxDialect.detect(c);
      IdempotencySchema.create(
          c,
          dialect,
          dev.outboxkit.outbox.OutboxTable.of(IdempotencyDefaults.KEY_TABLE),
          dev.outboxkit.outbox.OutboxTable.of(IdempotencyDefaults.INBOX_TABLE));
      s.execute("DELETE FROM idempotency_key");
    }
    MutableClock clock = new MutableClock();
    AtomicBoolean purgeBeforeTheRead = new AtomicBoolean();
    JdbcTransactions tx =
        JdbcTransactions.of(purgingBeforeTheRead(db.dataSource(), purgeBeforeTheRead));
    Idempotency idempotency =
        PurgeFixture.idempotency(tx, dialect, clock, IdempotencyDefaults.LOCK_TIMEOUT);
    IdempotencyKey key = IdempotencyKey.of("client-1", "k");
    IdempotencyOutcome<String> first =
        tx.inTransaction(c -> idempotency.execute(key, "fp", String.class, () -> "first"));
    assertThat(first).isInstanceOf(IdempotencyOutcome.Executed.class);
    clock.advance(Duration.ofMinutes(2));

    purgeBeforeTheRead.set(true);
    IdempotencyOutcome<String> again =
        tx.inTransaction(c -> idempotency.execute(key, "fp", String.class, () -> "second"));

    assertThat(purgeBeforeTheRead).as("the purge ran between the claim and the read").isFalse();
    assertThat(again).isInstanceOf(IdempotencyOutcome.Executed.class);
    assertThat(again.result()).isEqualTo("second");
  }

  /**
   * A data source whose connections, when {@code armed}, delete every key on another connection
   * just before the key's read is prepared: the purge at the worst moment.
   */
  private static DataSource purgingBeforeTheRead(DataSource target, AtomicBoolean armed) {
    return PurgeFixture.wrappingConnections(
        target,
        connection ->
            (method, args) -> {
              if (method.getName().equals("prepareStatement")
                  && args[0] instanceof String sql
                  && sql.startsWith("SELECT fingerprint")
                  && armed.compareAndSet(true, false)) {
                purge(target);
              }
            });
  }

  private static void purge(DataSource target) throws SQLException {
    try (Connection other = target.getConnection();
        Statement s = other.createStatement()) {
      other.setAutoCommit(true);
      s.execute("DELETE FROM idempotency_key");
    }
  }
}
