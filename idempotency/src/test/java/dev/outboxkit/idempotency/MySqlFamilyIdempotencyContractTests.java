package dev.outboxkit.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.MutableClock;
import dev.outboxkit.test.TestDatabaseExtension;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The idempotency contract plus what MySQL and MariaDB share: InnoDB's session lock wait timeout,
 * and Connector/J's and MariaDB Connector/J's option for server-side prepared statements.
 */
abstract class MySqlFamilyIdempotencyContractTests extends IdempotencyContractTests {

  @Override
  String lockTimeoutQuery() {
    return "SELECT @@SESSION.innodb_lock_wait_timeout";
  }

  /** Server-side prepared statements: the bounded claim must be preparable as well. */
  @Test
  void claimsWaitsAndReplaysWithServerSidePreparedStatements() throws Exception {
    TestDatabaseExtension db = db();
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(
        db.jdbcUrl() + (db.jdbcUrl().contains("?") ? "&" : "?") + "useServerPrepStmts=true");
    config.setUsername(db.database().username());
    config.setPassword(db.database().password());
    config.setMaximumPoolSize(2);
    try (HikariDataSource dataSource = new HikariDataSource(config)) {
      claimsWaitsAndReplaysThrough(dataSource);
    }
  }

  /**
   * Review14 (UNRUN: written without Maven while the build lock was the lead's; expected to fail on
   * d420ffe on MySQL and MariaDB). The purge ({@code DELETE FROM idempotency_key WHERE expires_at <
   * ? LIMIT ?}, autocommit) locks each expired row it passes, in its scan's order, and waits for a
   * row an application's transaction holds; the application's transaction, replacing expired keys
   * (claim: {@code INSERT IGNORE} takes a shared lock on the duplicate; {@code deleteExpired};
   * claim again), then needs a row the purge already deleted: a deadlock, and InnoDB rolls back the
   * lighter transaction, the application's (the purge has deleted 50 rows by then). Schedule: the
   * application replaces the expired key "zz-replaced" (last in primary key and in expires_at
   * order) and stays open; the purge deletes old-100..old-149 and waits for "zz-replaced"; the
   * application then replaces the expired key "old-107" in the same transaction (a batch of
   * requests, or a consumer handling a batch in one transaction): its claim waits for the purge's
   * delete of old-107. The same lock order breaks a single call too (the claim's shared lock on k,
   * the purge's lock on k's expires_at entry, then the call's delete of k), with a narrower window.
   */
  @Test
  @org.junit.jupiter.api.Disabled(
      "review14 finding 3, open: on MySQL and MariaDB the purge (DELETE ... WHERE expires_at < ?"
          + " LIMIT ?) and a transaction replacing expired keys lock in opposite orders and"
          + " deadlock; seen failing 2026-12-07 on both: 'the application's transaction failed"
          + " while the purge ran: IdempotencyKeyInFlightException'. Fix to build: the purge"
          + " never waits (SELECT ... FOR UPDATE SKIP LOCKED, then delete by primary key).")
  void purgingExpiredKeysNeverRollsBackAnApplicationTransactionReplacingThem() throws Exception {
    TestDatabaseExtension db = db();
    OutboxDialect dialect;
    try (Connection c = db.dataSource().getConnection()) {
      dialect = OutboxDialect.detect(c);
    }
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    MutableClock clock = new MutableClock();
    Idempotency idempotency =
        Idempotency.builder()
            .connectionProvider(tx)
            .dialect(dialect)
            .clock(clock)
            .ttl(Duration.ofMinutes(1))
            .lockTimeout(Duration.ofSeconds(20))
            .build();
    for (int i = 0; i < 50; i++) {
      String k = "old-" + (100 + i);
      tx.inTransaction(
          c -> idempotency.execute(IdempotencyKey.of("client-1", k), "fp", String.class, () -> k));
    }
    clock.advance(Duration.ofSeconds(30));
    tx.inTransaction(
        c ->
            idempotency.execute(
                IdempotencyKey.of("client-1", "zz-replaced"), "fp", String.class, () -> "first"));
    clock.advance(Duration.ofMinutes(2)); // every key has expired

    CountDownLatch replacedOne = new CountDownLatch(1);
    CountDownLatch goOn = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Future<List<IdempotencyOutcome<String>>> application =
          pool.submit(
              () ->
                  tx.inTransaction(
                      c -> {
                        List<IdempotencyOutcome<String>> outcomes = new ArrayList<>();
                        outcomes.add(
                            idempotency.execute(
                                IdempotencyKey.of("client-1", "zz-replaced"),
                                "fp",
                                String.class,
                                () -> "again"));
                        replacedOne.countDown();
                        try {
                          goOn.await(30, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                          Thread.currentThread().interrupt();
                          throw new IllegalStateException(e);
                        }
                        outcomes.add(
                            idempotency.execute(
                                IdempotencyKey.of("client-1", "old-107"),
                                "fp",
                                String.class,
                                () -> "again"));
                        return outcomes;
                      }));
      assertThat(replacedOne.await(30, TimeUnit.SECONDS)).isTrue();
      IdempotencyPurger purger =
          new IdempotencyPurger(
              db.dataSource(),
              dialect,
              OutboxTable.of("idempotency_key"),
              OutboxTable.of("inbox_message"),
              100,
              1,
              clock,
              new SimpleMeterRegistry());
      Future<Integer> purge = pool.submit(purger::purgeExpired);
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      boolean purgeWaits = false;
      while (!purge.isDone() && !purgeWaits && System.nanoTime() < until) {
        Thread.sleep(20);
        purgeWaits = lockWaits(db) > 0;
      }
      System.out.println(
          "[review14] the purge "
              + (purge.isDone() ? "finished" : purgeWaits ? "waits for a lock" : "runs")
              + " while the application's transaction holds the replaced key");
      goOn.countDown();
      List<IdempotencyOutcome<String>> outcomes;
      try {
        outcomes = application.get(60, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        throw new AssertionError(
            "the application's transaction failed while the purge ran: " + e.getCause(), e);
      }
      assertThat(outcomes)
          .allSatisfy(o -> assertThat(o).isInstanceOf(IdempotencyOutcome.Executed.class));
      try {
        purge.get(60, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        // The purge may lose a deadlock: housekeeping, retried at its next run.
      }
    } finally {
      goOn.countDown();
      pool.shutdownNow();
    }
  }

  private static int lockWaits(TestDatabaseExtension db) throws java.sql.SQLException {
    try (Connection c = db.database().openConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT COUNT(*) FROM information_schema.innodb_trx WHERE trx_state = 'LOCK"
                    + " WAIT'")) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
