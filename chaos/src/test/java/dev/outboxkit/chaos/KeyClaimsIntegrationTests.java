package dev.outboxkit.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The writers' idempotency keys and inbox entries and the purge beside them, on MariaDB (where
 * review14 found the purge's deadlock): they claim, replay, expire and get purged; a claim the
 * purge could block is counted as blocked; a deadlock in the claims reaches the writer as the
 * rollback its check counts. Each test uses a writer number of its own (its own keys).
 */
@ServerTest
class KeyClaimsIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mariadb();

  private static OutboxDialect dialect;
  private static JdbcTransactions transactions;
  private static ExecutorService pool;

  @BeforeAll
  static void tables() throws SQLException {
    dialect = Schema.prepare(db.dataSource(), Mode.POLLING, KeyLoad.defaults());
    transactions = JdbcTransactions.of(db.dataSource());
    pool = Executors.newFixedThreadPool(2);
  }

  @AfterAll
  static void stop() {
    pool.shutdownNow();
  }

  @Test
  void keysAndInboxEntriesExpireUnderTheWritersAndThePurgeDeletesThem() {
    KeyLoad load = new KeyLoad(3, Duration.ofSeconds(1), Duration.ofMillis(100), 20);
    KeyClaims claims = new KeyClaims(load, transactions, dialect);
    KeyClaims.Rotation writer = claims.forWriter(0, 1L);
    try (PurgeLoop purge = new PurgeLoop(load, db.dataSource(), dialect, Clock.systemUTC())) {
      purge.start();
      long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3500);
      while (System.nanoTime() < until) {
        transactions.inTransaction(
            c -> {
              writer.claimNext();
              return null;
            });
        Pause.millis(20);
      }
      purge.close();
      // The first two transactions stored the six keys; each expired once or twice since.
      assertThat(claims.executed()).isGreaterThanOrEqualTo(12);
      assertThat(claims.replayed()).isGreaterThan(claims.executed());
      assertThat(claims.processed()).isGreaterThanOrEqualTo(12);
      assertThat(claims.duplicates()).isPositive();
      assertThat(purge.runs()).isGreaterThanOrEqualTo(10);
      assertThat(purge.purged()).isPositive();
      assertThat(purge.failures()).as("%s", purge.failureExamples()).isZero();
      assertThat(claims.blocked()).as("%s", claims.examples()).isZero();
      assertThat(claims.mismatched()).isZero();
    }
  }

  @Test
  void aClaimThatWaitsTheLockTimeoutForItsKeyIsCountedAsBlocked() throws Exception {
    KeyLoad load = new KeyLoad(1, Duration.ofMinutes(1), Duration.ofMillis(100), 20);
    KeyClaims claims = new KeyClaims(load, transactions, dialect);
    KeyClaims.Rotation writer = claims.forWriter(1, 1L);
    claimOnce(writer); // k0, m0
    claimOnce(writer); // k1, m1; next: k0, m0 again
    try (Connection holder = db.dataSource().getConnection()) {
      holder.setAutoCommit(false);
      lock(holder, "idempotency_key", "scope", "idem_key", KeyClaims.scope(1), "k0");
      long started = System.nanoTime();
      claimOnce(writer);
      assertThat(Duration.ofNanos(System.nanoTime() - started))
          .isGreaterThanOrEqualTo(KeyClaims.BLOCKED_AFTER);
      holder.rollback();
    }
    assertThat(claims.blocked()).isEqualTo(1);
    assertThat(claims.inFlight()).isEqualTo(1);
    assertThat(claims.examples())
        .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
        .startsWith("writer 1: key k0 in flight after waiting")
        .endsWith("ms for its lock");
  }

  @Test
  void aDeadlockInTheClaimsRollsTheWritersTransactionBackAsItsCheckSees() throws Exception {
    KeyLoad load = new KeyLoad(1, Duration.ofMinutes(1), Duration.ofMillis(100), 20);
    KeyClaims claims = new KeyClaims(load, transactions, dialect);
    KeyClaims.Rotation writer = claims.forWriter(2, 1L);
    claimOnce(writer); // k0, m0
    claimOnce(writer); // k1, m1; next: k0 (replayed, share-locked), then m0
    try (Connection other = db.dataSource().getConnection()) {
      other.setAutoCommit(false);
      // Heavier than the writer, as a purge that deleted rows before it waited: InnoDB rolls the
      // lighter transaction back.
      try (PreparedStatement insert =
          other.prepareStatement(
              "INSERT INTO inbox_message (consumer, message_id, created_at, expires_at)"
                  + " VALUES ('heavy', ?, CURRENT_TIMESTAMP(6), CURRENT_TIMESTAMP(6))")) {
        for (int i = 0; i < 300; i++) {
          insert.setString(1, "h" + i);
          insert.addBatch();
        }
        insert.executeBatch();
      }
      lock(other, "inbox_message", "consumer", "message_id", KeyClaims.scope(2), "m0");
      Future<?> transaction = pool.submit(() -> claimOnce(writer));
      // The writer has k0 (replayed: share-locked) once it is counted, then waits for m0 (up to
      // the lock timeout, 2 s); then this transaction asks for k0: a lock cycle.
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (claims.replayed() == 0 && System.nanoTime() < until) {
        Thread.sleep(5);
      }
      assertThat(claims.replayed()).as("the writer claimed k0").isEqualTo(1);
      Thread.sleep(300);
      lock(other, "idempotency_key", "scope", "idem_key", KeyClaims.scope(2), "k0");
      Throwable failure = null;
      try {
        transaction.get(30, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        failure = e.getCause();
      }
      other.rollback();
      assertThat(failure).as("the writer's transaction failed").isNotNull();
      assertThat(Writers.rollbackByTheDatabase(failure))
          .as("%s", failure)
          .contains("SQL state 40001, error 1213")
          .contains("Deadlock");
    }
    assertThat(claims.blocked()).isZero();
  }

  private static void claimOnce(KeyClaims.Rotation writer) {
    transactions.inTransaction(
        c -> {
          writer.claimNext();
          return null;
        });
  }

  private static void lock(
      Connection c, String table, String first, String second, String a, String b)
      throws SQLException {
    try (PreparedStatement lock =
        c.prepareStatement(
            "SELECT "
                + second
                + " FROM "
                + table
                + " WHERE "
                + first
                + " = ? AND "
                + second
                + " = ? FOR UPDATE")) {
      lock.setString(1, a);
      lock.setString(2, b);
      try (ResultSet rs = lock.executeQuery()) {
        assertThat(rs.next()).as("%s %s exists", table, b).isTrue();
      }
    }
  }
}
