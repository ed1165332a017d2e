package dev.outboxkit.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.DatabaseKind;
import dev.outboxkit.test.FailoverErrors;
import dev.outboxkit.test.FailoverPools;
import dev.outboxkit.test.RestartableDatabaseServer;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The database server is killed with SIGKILL while clients send requests with idempotency keys, and
 * restarted on the same port. Each client retries a request with the same key until it gets an
 * answer, as an HTTP client with an {@code Idempotency-Key} does. Checked: requests during the
 * outage fail with the SQL error as the cause, within a bound; after the restart every key
 * completes, and its work ran exactly once (one business row per key), also for requests whose
 * commit reached the server but whose answer was lost with the connection. One subclass per
 * database.
 */
@ServerTest
abstract class IdempotencyFailoverContractTests {

  private static final int CLIENTS = 4;
  private static final Duration LOAD_BEFORE = Duration.ofSeconds(2);
  private static final Duration DOWN = Duration.ofMillis(2500);
  private static final Duration LOAD_AFTER = Duration.ofSeconds(3);

  abstract DatabaseKind kind();

  record Receipt(String key, long amountMinor) {}

  private record Failure(String key, long tookNanos, RuntimeException error) {}

  @Test
  void requestsFailClearlyDuringTheOutageAndEveryKeyRunsExactlyOnceAfterIt() throws Exception {
    try (RestartableDatabaseServer server = RestartableDatabaseServer.start(kind());
        TestDatabase db = server.createDatabase("idem_failover");
        HikariDataSource pool = FailoverPools.create(db, "idempotency-failover", CLIENTS + 2)) {
      OutboxDialect dialect;
      try (Connection c = pool.getConnection();
          Statement s = c.createStatement()) {
        dialect = OutboxDialect.detect(c);
        IdempotencySchema.create(
            c,
            dialect,
            OutboxTable.of(IdempotencyDefaults.KEY_TABLE),
            OutboxTable.of(IdempotencyDefaults.INBOX_TABLE));
        s.execute("CREATE TABLE payment (idempotency_key VARCHAR(100) NOT NULL)");
      }
      JdbcTransactions tx = JdbcTransactions.of(pool);
      Idempotency idempotency =
          Idempotency.builder()
              .connectionProvider(tx)
              .dialect(dialect)
              .meterRegistry(new SimpleMeterRegistry())
              .build();

      Map<String, Long> completedAt = new ConcurrentHashMap<>();
      Map<String, String> outcome = new ConcurrentHashMap<>();
      Map<String, Integer> failedAttempts = new ConcurrentHashMap<>();
      ConcurrentLinkedQueue<Failure> failures = new ConcurrentLinkedQueue<>();
      AtomicInteger executions = new AtomicInteger();
      AtomicLong stop = new AtomicLong(Long.MAX_VALUE);
      long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
      List<Thread> clients = new ArrayList<>();
      for (int w = 0; w < CLIENTS; w++) {
        int client = w;
        clients.add(
            new Thread(
                () -> {
                  for (int i = 0; System.nanoTime() < stop.get(); i++) {
                    String key = "c" + client + "-" + i;
                    // Retry with the same key until answered, like an HTTP client would.
                    while (!completedAt.containsKey(key) && System.nanoTime() < giveUp) {
                      long begin = System.nanoTime();
                      try {
                        IdempotencyOutcome<Receipt> result =
                            tx.inTransaction(
                                c ->
                                    idempotency.execute(
                                        IdempotencyKey.of("client-" + client, key),
                                        "charge:" + key,
                                        Receipt.class,
                                        () -> charge(c, key, executions)));
                        if (result instanceof IdempotencyOutcome.Executed
                            || result instanceof IdempotencyOutcome.Replayed) {
                          outcome.put(key, result.getClass().getSimpleName());
                          completedAt.put(key, System.nanoTime());
                        } else {
                          outcome.put(key, result.toString());
                          pause(50);
                        }
                      } catch (RuntimeException e) {
                        failures.add(new Failure(key, System.nanoTime() - begin, e));
                        failedAttempts.merge(key, 1, Integer::sum);
                        pause(50);
                      }
                    }
                    pause(2);
                  }
                },
                "idempotency-client-" + w));
      }
      clients.forEach(Thread::start);
      long restarted;
      Duration ready;
      int failedWhileDown;
      try {
        Thread.sleep(LOAD_BEFORE.toMillis());
        assertThat(completedAt).as("requests answered before the crash").isNotEmpty();
        server.kill();
        Thread.sleep(DOWN.toMillis());
        failedWhileDown = failures.size();
        restarted = System.nanoTime();
        ready = server.restart();
        stop.set(System.nanoTime() + LOAD_AFTER.toNanos());
      } finally {
        for (Thread client : clients) {
          client.join(TimeUnit.SECONDS.toMillis(100));
        }
      }
      for (Thread client : clients) {
        assertThat(client.isAlive()).as(client.getName() + " hangs").isFalse();
      }

      Map<String, Integer> rows = payments(pool);
      List<String> retried =
          failedAttempts.keySet().stream().filter(completedAt::containsKey).toList();
      long replayedAfterFailure =
          retried.stream().filter(k -> "Replayed".equals(outcome.get(k))).count();
      long firstAnswer =
          completedAt.values().stream().filter(at -> at > restarted).min(Long::compare).orElse(0L);
      long maxBlocked = failures.stream().mapToLong(Failure::tookNanos).max().orElse(0);
      Failure example = failures.peek();
      System.out.printf(
          "[idempotency-failover] %s: server ready %d ms after restart; first answered request"
              + " +%d ms; %d keys, %d failed attempts (%d while down, longest %d ms; e.g. %s); %d"
              + " keys retried across the outage, %d of them answered by a replay (commit landed,"
              + " answer lost); business rows %d, work ran %d times%n",
          kind(),
          ready.toMillis(),
          firstAnswer == 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(firstAnswer - restarted),
          completedAt.size(),
          failures.size(),
          failedWhileDown,
          TimeUnit.NANOSECONDS.toMillis(maxBlocked),
          example == null ? "-" : FailoverErrors.describe(example.error()),
          retried.size(),
          replayedAfterFailure,
          rows.values().stream().mapToInt(Integer::intValue).sum(),
          executions.get());

      // Requests during the outage failed, within a bound, with the SQL error as the cause.
      assertThat(failures).isNotEmpty();
      for (Failure failure : failures) {
        assertThat(FailoverErrors.hasSqlCause(failure.error()))
            .as(FailoverErrors.describe(failure.error()))
            .isTrue();
      }
      assertThat(Duration.ofNanos(maxBlocked)).isLessThan(Duration.ofSeconds(15));
      assertThat(retried).isNotEmpty();
      // Every key answered, and its work ran exactly once: one business row per key.
      assertThat(firstAnswer).as("a request was answered after the restart").isPositive();
      assertThat(Duration.ofNanos(firstAnswer - restarted)).isLessThan(Duration.ofSeconds(30));
      assertThat(rows.keySet()).containsExactlyInAnyOrderElementsOf(completedAt.keySet());
      assertThat(rows.values()).allMatch(n -> n == 1);

      // The same keys once more, after the outage: all replayed, nothing runs again.
      int before = executions.get();
      for (String key : completedAt.keySet()) {
        String client = "client-" + key.substring(1, key.indexOf('-'));
        IdempotencyOutcome<Receipt> again =
            tx.inTransaction(
                c ->
                    idempotency.execute(
                        IdempotencyKey.of(client, key),
                        "charge:" + key,
                        Receipt.class,
                        () -> charge(c, key, executions)));
        assertThat(again).as(key).isInstanceOf(IdempotencyOutcome.Replayed.class);
      }
      assertThat(executions).hasValue(before);
      assertThat(payments(pool)).isEqualTo(rows);
    }
  }

  /** The work: one business row. */
  private static Receipt charge(Connection c, String key, AtomicInteger executions) {
    executions.incrementAndGet();
    try (PreparedStatement insert =
        c.prepareStatement("INSERT INTO payment (idempotency_key) VALUES (?)")) {
      insert.setString(1, key);
      insert.executeUpdate();
    } catch (SQLException e) {
      throw new IllegalStateException("Could not record the payment", e);
    }
    return new Receipt(key, 1250);
  }

  private static Map<String, Integer> payments(HikariDataSource pool) throws SQLException {
    Map<String, Integer> rows = new HashMap<>();
    try (Connection c = pool.getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT idempotency_key, COUNT(*) FROM payment GROUP BY idempotency_key")) {
      while (rs.next()) {
        rows.put(rs.getString(1), rs.getInt(2));
      }
    }
    return rows;
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
