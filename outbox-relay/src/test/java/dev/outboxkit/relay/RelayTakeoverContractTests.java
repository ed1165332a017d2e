package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import dev.outboxkit.test.TestServers;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * Fast takeover after a crash: two relay JVMs with the default-like lease TTL of 30 s; one is
 * killed with SIGKILL; the other takes its partitions over as soon as the database frees the dead
 * session's lock and a heartbeat is missed, not after the TTL. One subclass per database.
 */
@ServerTest
@Isolated
abstract class RelayTakeoverContractTests {

  static final KafkaTestBroker kafka = TestServers.kafka();

  private final RelayProcesses processes = new RelayProcesses();

  abstract TestDatabaseExtension database();

  /** The URL the relays read and mark through. */
  String relayUrl() {
    return database().database().jdbcUrl();
  }

  /** Direct connections for the relays' session locks, or {@code null} to use {@link #relayUrl}. */
  @Nullable String sessionUrl() {
    return null;
  }

  private Process startRelay(String id, String leases) throws Exception {
    return processes.start(
        database().database(),
        relayUrl(),
        sessionUrl(),
        kafka.bootstrapServers(),
        id,
        null,
        leases);
  }

  @AfterEach
  void killProcesses() {
    processes.close();
  }

  /** Lease owners by id prefix ({@code take-a}, {@code take-b}): partitions each holds. */
  private Map<String, Integer> owners() throws SQLException {
    Map<String, Integer> owners = new HashMap<>();
    try (Connection c = database().dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT owner_id FROM outbox_relay_lease")) {
      while (rs.next()) {
        String owner = rs.getString(1);
        owners.merge(owner == null ? "-" : owner.split("~")[0], 1, Integer::sum);
      }
    }
    return owners;
  }

  @Test
  void aRelayKilledWithSigkillIsReplacedWithinSecondsNotAfterTheLeaseTtl() throws Exception {
    OutboxDialect dialect = RelayTables.create(database().dataSource());
    try (Connection c = database().dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_event");
      s.execute("DELETE FROM outbox_relay_lease");
      s.execute("DELETE FROM outbox_relay_member");
    }
    String topic = "takeover" + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 4);
    JdbcTransactions tx = JdbcTransactions.of(database().dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    String leases = "30s,500ms";
    Process a = startRelay("take-a", leases);
    await().atMost(Duration.ofSeconds(20)).until(() -> owners().getOrDefault("take-a", 0) == 16);
    startRelay("take-b", leases);
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                owners().getOrDefault("take-b", 0) == 8 && owners().getOrDefault("take-a", 0) == 8);

    a.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    long killed = System.nanoTime();
    List<OutboxMessage> events =
        IntStream.range(0, 64)
            .mapToObj(k -> OutboxMessage.of(topic, "key-" + k, "After", "0"))
            .toList();
    tx.execute(c -> outbox.appendAll(events));
    await()
        .atMost(Duration.ofSeconds(25))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> owners().getOrDefault("take-b", 0) == 16);
    long takeover = System.nanoTime() - killed;
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      List<ConsumerRecord<byte[], byte[]>> records = reader.readAtLeast(64, Duration.ofSeconds(25));
      long delivered = System.nanoTime() - killed;
      System.out.printf(
          "[takeover] %s: partitions taken over %d ms after SIGKILL, all 64 events delivered after"
              + " %d ms (lease TTL 30 s, heartbeat 500 ms)%n",
          dialect.name(),
          TimeUnit.NANOSECONDS.toMillis(takeover),
          TimeUnit.NANOSECONDS.toMillis(delivered));
      assertThat(records.stream().map(r -> new String(r.key())).distinct()).hasSize(64);
      // Generous bound for a loaded 2-core machine; the TTL alone would take 30 s.
      assertThat(Duration.ofNanos(takeover)).isLessThan(Duration.ofSeconds(10));
    }
  }
}
