package dev.outboxkit.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.MutableClock;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * The purge of expired keys and inbox entries is housekeeping: it must never make the database roll
 * back an application's transaction, so it never waits for a row an application holds.
 *
 * <p>The schedule (review14 finding 3): an application's transaction touches the expired row "zz"
 * (a key it replaces, or a redelivered message the inbox skips) and stays open; the purge starts
 * and deletes the expired rows before "zz" in its scan, among them "old-107"; the application then
 * needs "old-107" in the same transaction (a batch of requests or of consumed records). A purge
 * that waits for "zz" while holding "old-107" makes a lock cycle, and the database breaks it by
 * rolling one side back: on InnoDB the application's, which has written less.
 */
interface PurgeNeverWaitsContract {

  TestDatabaseExtension db();

  /** The number of sessions that wait for a lock now (a diagnostic only). */
  String lockWaitsQuery();

  @Test
  default void purgingExpiredKeysNeverRollsBackAnApplicationTransactionReplacingThem()
      throws Exception {
    check(
        "idempotency_key",
        "idem_key",
        (idempotency, inbox) -> idempotency,
        (idempotency, key) ->
            idempotency.execute(IdempotencyKey.of("client-1", key), "fp", String.class, () -> key)
                instanceof IdempotencyOutcome.Executed<String>);
  }

  @Test
  default void purgingExpiredInboxEntriesNeverRollsBackAConsumerSeeingThemAgain() throws Exception {
    check(
        "inbox_message",
        "message_id",
        (idempotency, inbox) -> inbox,
        (inbox, messageId) -> {
          inbox.process("ledger", messageId, () -> {});
          return true;
        });
  }

  /**
   * A full batch reaches its rows by primary key and nothing else: with 1,200 expired keys and two
   * rows an application's open transaction holds (an expired key it replaced, in the middle of the
   * key order, and a new key), a purge of batches of 1,000 deletes every other expired key without
   * waiting. A delete that scanned (a long {@code IN} list that MariaDB turns into a join, a plan
   * that gives up on a long {@code OR}) would wait for the held rows.
   */
  @Test
  default void aFullPurgeBatchNeverWaitsForRowsAnApplicationHolds() throws Exception {
    MutableClock clock = new MutableClock();
    OutboxDialect dialect =
        PurgeFixture.fillWithExpired(db().dataSource(), PurgeFixture.KEYS, 1_200, clock.instant());
    clock.advance(Duration.ofMinutes(2));
    JdbcTransactions tx = JdbcTransactions.of(db().dataSource());
    Idempotency idempotency = PurgeFixture.idempotency(tx, dialect, clock, Duration.ofSeconds(20));
    CountDownLatch holding = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Future<?> application =
          pool.submit(
              () ->
                  tx.execute(
                      c -> {
                        for (String key : List.of("old-0600", "new")) {
                          idempotency.execute(
                              IdempotencyKey.of("client-1", key), "fp", String.class, () -> key);
                        }
                        holding.countDown();
                        try {
                          release.await(60, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                          Thread.currentThread().interrupt();
                        }
                      }));
      assertThat(holding.await(30, TimeUnit.SECONDS)).isTrue();
      IdempotencyPurger purger = PurgeFixture.purger(db().dataSource(), dialect, 1_000, 2, clock);
      Future<Integer> purge = pool.submit(purger::purgeExpired);
      try {
        assertThat(purge.get(10, TimeUnit.SECONDS))
            .as("every expired key but the one the application replaced")
            .isEqualTo(1_199);
      } catch (TimeoutException e) {
        throw new AssertionError(
            "the purge waited 10 s for rows an application's open transaction holds", e);
      } finally {
        release.countDown();
      }
      application.get(60, TimeUnit.SECONDS);
      assertThat(rows("idempotency_key", "idem_key")).isOne();
    } finally {
      release.countDown();
      pool.shutdownNow();
    }
  }

  /**
   * review18: a purge makes progress past rows an application holds. Batches of 10, 50 expired
   * keys, and an application's open transaction replacing the 10 that come first in the table's
   * order (old-0000 to old-0009). The skipping locking read of 739a098 took the next 10 unheld
   * rows; since 6507d74 the plain read names the same 10 held keys first in every batch, the
   * locking read skips all of them, the batch deletes 0 and is "full", and every batch of the run
   * repeats it: the 40 other expired keys are never purged while those rows are held.
   */
  @Test
  default void aPurgeMakesProgressPastABatchOfRowsAnApplicationHolds() throws Exception {
    MutableClock clock = new MutableClock();
    Instant created = clock.instant();
    // The held keys expired first, so every plan (expires_at index or primary key) reads them
    // first.
    OutboxDialect dialect =
        PurgeFixture.fillWithExpired(
            db().dataSource(),
            PurgeFixture.KEYS,
            50,
            created,
            i -> created.plusSeconds(i < 10 ? 30 : 60));
    clock.advance(Duration.ofMinutes(2));
    JdbcTransactions tx = JdbcTransactions.of(db().dataSource());
    Idempotency idempotency = PurgeFixture.idempotency(tx, dialect, clock, Duration.ofSeconds(20));
    CountDownLatch holding = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Future<?> application =
          pool.submit(
              () ->
                  tx.execute(
                      c -> {
                        for (int i = 0; i < 10; i++) {
                          String key = "old-%04d".formatted(i);
                          idempotency.execute(
                              IdempotencyKey.of("client-1", key), "fp", String.class, () -> key);
                        }
                        holding.countDown();
                        try {
                          release.await(60, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                          Thread.currentThread().interrupt();
                        }
                      }));
      assertThat(holding.await(30, TimeUnit.SECONDS)).isTrue();
      IdempotencyPurger purger = PurgeFixture.purger(db().dataSource(), dialect, 10, 10, clock);
      Future<Integer> purge = pool.submit(purger::purgeExpired);
      try {
        assertThat(purge.get(10, TimeUnit.SECONDS))
            .as("the 40 expired keys nobody holds, in batches of 10 (at most 10 batches)")
            .isEqualTo(40);
      } finally {
        release.countDown();
      }
      application.get(60, TimeUnit.SECONDS);
      assertThat(rows("idempotency_key", "idem_key")).isEqualTo(10);
    } finally {
      release.countDown();
      pool.shutdownNow();
    }
  }

  /**
   * Runs the schedule on one table.
   *
   * @param touch what the application does with one key in its transaction, {@code true} when it
   *     went as it should
   */
  private <T> void check(
      String table,
      String column,
      BiFunction<Idempotency, Inbox, T> which,
      BiFunction<T, String, Boolean> touch)
      throws Exception {
    OutboxDialect dialect = PurgeFixture.emptyTables(db().dataSource());
    JdbcTransactions tx = JdbcTransactions.of(db().dataSource());
    MutableClock clock = new MutableClock();
    Duration lockTimeout = Duration.ofSeconds(20);
    T subject =
        which.apply(
            PurgeFixture.idempotency(tx, dialect, clock, lockTimeout),
            PurgeFixture.inbox(tx, dialect, clock, lockTimeout));
    for (int i = 0; i < 50; i++) {
      String k = "old-" + (100 + i);
      tx.inTransaction(c -> touch.apply(subject, k));
    }
    clock.advance(Duration.ofSeconds(30));
    tx.inTransaction(c -> touch.apply(subject, "zz"));
    clock.advance(Duration.ofMinutes(2)); // every row has expired

    CountDownLatch touchedOne = new CountDownLatch(1);
    CountDownLatch goOn = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Future<List<Boolean>> application =
          pool.submit(
              () ->
                  tx.inTransaction(
                      c -> {
                        List<Boolean> outcomes = new ArrayList<>();
                        outcomes.add(touch.apply(subject, "zz"));
                        touchedOne.countDown();
                        try {
                          goOn.await(30, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                          Thread.currentThread().interrupt();
                          throw new IllegalStateException(e);
                        }
                        outcomes.add(touch.apply(subject, "old-107"));
                        return outcomes;
                      }));
      assertThat(touchedOne.await(30, TimeUnit.SECONDS)).isTrue();
      IdempotencyPurger purger = PurgeFixture.purger(db().dataSource(), dialect, 100, 1, clock);
      Future<Integer> purge = pool.submit(purger::purgeExpired);
      // Give a purge that waits the time to reach "zz" and wait there.
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      boolean waits = false;
      while (!purge.isDone() && !waits && System.nanoTime() < until) {
        Thread.sleep(20);
        waits = lockWaits() > 0;
      }
      goOn.countDown();
      List<Boolean> outcomes;
      try {
        outcomes = application.get(60, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        throw new AssertionError(
            "the application's transaction failed while the purge "
                + (waits ? "waited for a lock" : "ran")
                + ": "
                + e.getCause(),
            e);
      }
      assertThat(outcomes).containsOnly(true);
      // "zz" is left when the application locked it (a key replaced; on InnoDB a duplicate too).
      assertThat(purge.get(60, TimeUnit.SECONDS))
          .as("the purge deleted every expired row but the one the application may hold")
          .isBetween(50, 51);
      assertThat(rows(table, column))
          .as("old rows left: the one the application wrote again")
          .isEqualTo(1);
    } finally {
      goOn.countDown();
      pool.shutdownNow();
    }
  }

  private int lockWaits() throws SQLException {
    try (Connection c = db().database().openConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(lockWaitsQuery())) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private long rows(String table, String column) throws SQLException {
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT COUNT(*) FROM " + table + " WHERE " + column + " LIKE 'old-%'")) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
