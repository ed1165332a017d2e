package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxDefaults;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.DatabaseKind;
import dev.outboxkit.test.FailoverErrors;
import dev.outboxkit.test.FailoverPools;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.RestartableDatabaseServer;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * The database server is killed with SIGKILL under load and restarted on the same port, as when a
 * database host dies and comes back or an Aurora writer fails over behind the same endpoint.
 * Writers append events of a set of keys in transactions (each also bumps the key's row in a
 * business table, the way an application does), a polling relay with default settings publishes,
 * and after the restart nobody is restarted by hand. Checked: writers get errors within a bound,
 * not hangs; every append whose commit returned is published; per key the first copies come in
 * write order; the relay says it runs and owns its partitions again. Measured, and printed in one
 * line: restart to first successful append, to the relay publishing again, to the backlog of events
 * committed before the restart being published. One subclass per database.
 */
@ServerTest
@Isolated
abstract class DatabaseFailoverContractTests {

  static final KafkaTestBroker kafka = TestServers.kafka();

  private static final int KEYS = 48;
  private static final int WRITERS = 4;
  // At least this long, and until the relay has published (awaited), the writers load the
  // database before the kill; 3 s of fixed load only made this isolated test longer.
  private static final Duration LOAD_BEFORE = Duration.ofMillis(1500);
  private static final Duration DOWN = Duration.ofMillis(2500);
  private static final Duration LOAD_AFTER = Duration.ofSeconds(4);

  abstract DatabaseKind kind();

  /** One failed append as a writer saw it. */
  private record Failure(long tookNanos, RuntimeException error) {}

  @Test
  void writersFailClearlyAndTheRelayRecoversByItselfWithNothingLostAndOrderKept() throws Exception {
    try (RestartableDatabaseServer server = RestartableDatabaseServer.start(kind());
        TestDatabase db = server.createDatabase("failover");
        HikariDataSource writerPool = FailoverPools.create(db, "failover-writers", WRITERS + 2);
        HikariDataSource relayPool = FailoverPools.create(db, "failover-relay", 8)) {
      OutboxDialect dialect = RelayTables.create(writerPool);
      createAccounts(writerPool);
      String topic = "failover" + System.nanoTime() % 100_000;
      kafka.createTopic(topic, 4);
      JdbcTransactions tx = JdbcTransactions.of(writerPool);
      Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();

      Set<String> acked = ConcurrentHashMap.newKeySet();
      Map<String, Long> ackedAt = new ConcurrentHashMap<>();
      ConcurrentLinkedQueue<Failure> failures = new ConcurrentLinkedQueue<>();
      Map<String, Long> firstSeen = new ConcurrentHashMap<>();
      AtomicLong lastRecordAt = new AtomicLong();
      List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
      AtomicLong stopWriters = new AtomicLong(Long.MAX_VALUE);
      AtomicBoolean readerStop = new AtomicBoolean();

      // Default relay settings: lease TTL 30 s, heartbeat 1 s, poll 10 ms..1 s, session locks on.
      OutboxRelay relay =
          TestRelayBuilder.relay()
              .dataSource(relayPool)
              .bootstrapServers(kafka.bootstrapServers())
              .meterRegistry(new SimpleMeterRegistry())
              .build();
      Thread reader =
          new Thread(
              () -> {
                try (KafkaReader kafkaReader = new KafkaReader(kafka.bootstrapServers(), topic)) {
                  while (!readerStop.get()) {
                    List<ConsumerRecord<byte[], byte[]>> fresh =
                        kafkaReader.pollOnce(Duration.ofMillis(50));
                    long now = System.nanoTime();
                    synchronized (records) {
                      records.addAll(fresh);
                    }
                    for (ConsumerRecord<byte[], byte[]> r : fresh) {
                      firstSeen.putIfAbsent(eventOf(r), now);
                      lastRecordAt.set(now);
                    }
                  }
                }
              },
              "failover-reader");
      List<Thread> writers = new ArrayList<>();
      for (int w = 0; w < WRITERS; w++) {
        int writer = w;
        writers.add(
            new Thread(
                () -> {
                  int next = 0;
                  while (System.nanoTime() < stopWriters.get()) {
                    String key = "key-" + (writer + WRITERS * (next++ % (KEYS / WRITERS)));
                    long begin = System.nanoTime();
                    try {
                      int seq = tx.inTransaction(c -> appendNext(c, outbox, topic, key));
                      String event = key + "#" + seq;
                      acked.add(event);
                      ackedAt.put(event, System.nanoTime());
                      pause(2);
                    } catch (RuntimeException e) {
                      failures.add(new Failure(System.nanoTime() - begin, e));
                      pause(50);
                    }
                  }
                },
                "failover-writer-" + w));
      }

      relay.start();
      reader.start();
      writers.forEach(Thread::start);
      try {
        long loading = System.nanoTime();
        await("published before the crash")
            .atMost(Duration.ofSeconds(30))
            .until(() -> !firstSeen.isEmpty());
        Thread.sleep(Math.max(0, LOAD_BEFORE.minusNanos(System.nanoTime() - loading).toMillis()));
        long killed = System.nanoTime();
        server.kill();
        Thread.sleep(DOWN.toMillis());
        int failedWhileDown = failures.size();
        long restarted = System.nanoTime();
        Duration ready = server.restart();
        stopWriters.set(System.nanoTime() + LOAD_AFTER.toNanos());

        Set<String> committedBefore = new HashSet<>();
        ackedAt.forEach(
            (e, at) -> {
              if (at < restarted) {
                committedBefore.add(e);
              }
            });
        // Backlog drained: every event committed before the restart published, and the outbox
        // seen empty by a query (the relay has caught up with the writers).
        long drained = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (drained == 0 && System.nanoTime() < deadline) {
          if (firstSeen.keySet().containsAll(committedBefore)
              && pendingOrUnknown(writerPool) == 0) {
            drained = System.nanoTime();
          } else {
            Thread.sleep(20);
          }
        }
        for (Thread writer : writers) {
          writer.join(TimeUnit.SECONDS.toMillis(30));
          assertThat(writer.isAlive()).as(writer.getName() + " hangs").isFalse();
        }
        Map<String, Integer> finalSeq = accounts(writerPool);
        int committed = finalSeq.values().stream().mapToInt(Integer::intValue).sum();
        await()
            .atMost(Duration.ofSeconds(60))
            .until(() -> firstSeen.size() >= committed && pendingOrUnknown(writerPool) == 0);
        Thread.sleep(500); // late duplicates, if any
        readerStop.set(true);
        reader.join(10_000);

        List<ConsumerRecord<byte[], byte[]>> all;
        synchronized (records) {
          all = List.copyOf(records);
        }
        Ordering ordering = Ordering.of(all);
        long eventIds =
            all.stream()
                .map(r -> RelayTestSupport.headers(r).get(OutboxHeaders.EVENT_ID))
                .distinct()
                .count();
        long firstAppend =
            ackedAt.values().stream().filter(at -> at > restarted).min(Long::compare).orElse(0L);
        long relayAgain =
            firstSeen.values().stream().filter(at -> at > restarted).min(Long::compare).orElse(0L);
        long maxBlocked = failures.stream().mapToLong(Failure::tookNanos).max().orElse(0);
        Failure example = failures.peek();
        RelayStatus status = relay.status();
        System.out.printf(
            "[failover] %s: down %d ms; server ready %d ms after restart; first append +%d ms;"
                + " relay publishing +%d ms; backlog drained +%d ms; writers: %d errors (%d while"
                + " down, longest %d ms; e.g. %s), %d appends acked, %d committed, %d lost, %d"
                + " duplicates, %d order violations; relay %s, %d partitions owned%n",
            kind(),
            TimeUnit.NANOSECONDS.toMillis(restarted - killed),
            ready.toMillis(),
            millisAfter(restarted, firstAppend),
            millisAfter(restarted, relayAgain),
            millisAfter(restarted, drained),
            failures.size(),
            failedWhileDown,
            TimeUnit.NANOSECONDS.toMillis(maxBlocked),
            example == null ? "-" : FailoverErrors.describe(example.error()),
            acked.size(),
            committed,
            acked.stream().filter(e -> !firstSeen.containsKey(e)).count(),
            ordering.duplicates(),
            ordering.violations().size(),
            status.state(),
            status.ownedPartitions().size());

        // Writers got errors, each within a bound, each with the SQL error as its cause.
        assertThat(failures).isNotEmpty();
        for (Failure failure : failures) {
          assertThat(FailoverErrors.hasSqlCause(failure.error()))
              .as(FailoverErrors.describe(failure.error()))
              .isTrue();
        }
        assertThat(Duration.ofNanos(maxBlocked)).isLessThan(Duration.ofSeconds(15));
        // Nothing lost: every append whose commit returned is in Kafka; nothing invented: every
        // event in Kafka was committed (the business rows count them), in order per key.
        assertThat(acked).isNotEmpty();
        assertThat(firstSeen.keySet()).containsAll(acked);
        assertThat(ordering.distinct()).isEqualTo(committed);
        // A commit that was published and then lost in the crash would show as a second event
        // (another id) with the same key and number.
        assertThat(eventIds).isEqualTo(committed);
        assertThat(ordering.violations()).isEmpty();
        // The relay recovered by itself.
        assertThat(status.state()).isEqualTo(RelayStatus.State.RUNNING);
        assertThat(status.ownedPartitions()).hasSize(OutboxDefaults.PARTITIONS);
        assertThat(status.consecutiveFailures()).isZero();
        assertThat(status.lastBatchAt()).isAfter(Instant.now().minusSeconds(30));
        // Generous bounds for a shared 2-core machine.
        assertThat(firstAppend).as("an append succeeded after the restart").isPositive();
        assertThat(relayAgain).as("the relay published after the restart").isPositive();
        assertThat(drained).as("the backlog drained").isPositive();
        assertThat(Duration.ofNanos(firstAppend - restarted)).isLessThan(Duration.ofSeconds(30));
        assertThat(Duration.ofNanos(relayAgain - restarted)).isLessThan(Duration.ofSeconds(45));
        assertThat(Duration.ofNanos(drained - restarted)).isLessThan(Duration.ofSeconds(60));
      } finally {
        stopWriters.set(0);
        readerStop.set(true);
        for (Thread writer : writers) {
          writer.join(30_000);
        }
        reader.join(10_000);
        relay.close();
      }
    }
  }

  private static void createAccounts(HikariDataSource pool) throws SQLException {
    try (Connection c = pool.getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE failover_account (id VARCHAR(64) PRIMARY KEY, seq INT NOT NULL)");
      for (int k = 0; k < KEYS; k++) {
        s.execute("INSERT INTO failover_account (id, seq) VALUES ('key-" + k + "', 0)");
      }
    }
  }

  /**
   * The application's transaction: read the key's next number from its business row, append the
   * event with it, store the row. After a commit whose outcome the writer never learned, the row
   * tells the truth, so numbers stay gapless and never repeat.
   */
  private static int appendNext(Connection c, Outbox outbox, String topic, String key)
      throws SQLException {
    int seq;
    try (PreparedStatement select =
        c.prepareStatement("SELECT seq FROM failover_account WHERE id = ?")) {
      select.setString(1, key);
      try (ResultSet rs = select.executeQuery()) {
        rs.next();
        seq = rs.getInt(1);
      }
    }
    outbox.append(OutboxMessage.of(topic, key, "Counted", seq + ":" + key));
    try (PreparedStatement update =
        c.prepareStatement("UPDATE failover_account SET seq = ? WHERE id = ?")) {
      update.setInt(1, seq + 1);
      update.setString(2, key);
      update.executeUpdate();
    }
    return seq;
  }

  private static Map<String, Integer> accounts(HikariDataSource pool) throws SQLException {
    Map<String, Integer> seq = new HashMap<>();
    try (Connection c = pool.getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT id, seq FROM failover_account")) {
      while (rs.next()) {
        seq.put(rs.getString(1), rs.getInt(2));
      }
    }
    return seq;
  }

  private static long pending(HikariDataSource pool) throws SQLException {
    return RelayTestSupport.rows(pool, "status = 'PENDING'");
  }

  /**
   * {@link #pending}, or -1 while the pool has not reconnected since the restart (HikariCP waits
   * about 2.6 s): the relay may have published everything committed before the crash already.
   */
  private static long pendingOrUnknown(HikariDataSource pool) {
    try {
      return pending(pool);
    } catch (SQLException e) {
      return -1;
    }
  }

  private static String eventOf(ConsumerRecord<byte[], byte[]> record) {
    String value = new String(record.value(), StandardCharsets.UTF_8);
    return new String(record.key(), StandardCharsets.UTF_8) + "#" + value.split(":", 2)[0];
  }

  private static long millisAfter(long from, long at) {
    return at == 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(at - from);
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
