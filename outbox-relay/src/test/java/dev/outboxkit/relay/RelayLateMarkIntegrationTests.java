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
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * The polling relay's marks are not fenced by the lease epoch (see docs/guarantees.md): a deposed
 * owner's mark may land after the successor owns the partition. This checks the case that could
 * lose an event: the deposed owner deletes rows the successor has not sent yet. It must delete only
 * rows whose own copies the broker acknowledged, so every event still reaches Kafka, first copies
 * in order.
 *
 * <p>Deterministic: relay A's connections are wrapped so that its mark ({@code DELETE} of the sent
 * rows) and then its member heartbeats wait on latches, as a stalled process would; its leases
 * expire and relay B, started paused, claims them all; only then does A's mark go through, and B
 * resumes.
 */
@ServerTest
@Isolated
class RelayLateMarkIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  static final KafkaTestBroker kafka = TestServers.kafka();

  private final List<OutboxRelay> relays = new ArrayList<>();
  private final CountDownLatch markArrived = new CountDownLatch(1);
  private final CountDownLatch markGate = new CountDownLatch(1);
  private final CountDownLatch beatGate = new CountDownLatch(1);
  private volatile boolean beatsFrozen;

  @AfterEach
  void close() {
    markGate.countDown();
    beatGate.countDown();
    relays.forEach(OutboxRelay::close);
  }

  /** {@code db.dataSource()}, with A's mark and (once frozen) member heartbeats held back. */
  private DataSource stalling(DataSource real) {
    return (DataSource)
        Proxy.newProxyInstance(
            DataSource.class.getClassLoader(),
            new Class<?>[] {DataSource.class},
            (proxy, method, args) -> {
              Object result = call(method, real, args);
              return result instanceof Connection c ? stalling(c) : result;
            });
  }

  private Connection stalling(Connection real) {
    return (Connection)
        Proxy.newProxyInstance(
            Connection.class.getClassLoader(),
            new Class<?>[] {Connection.class},
            (proxy, method, args) -> {
              if (method.getName().equals("prepareStatement")) {
                String sql = (String) args[0];
                if (sql.startsWith("DELETE FROM outbox_event WHERE")
                    && (sql.contains("seq IN") || sql.contains("seq = ANY"))) {
                  markArrived.countDown();
                  assertThat(markGate.await(60, TimeUnit.SECONDS)).isTrue();
                } else if (beatsFrozen && sql.startsWith("UPDATE outbox_relay_member")) {
                  assertThat(beatGate.await(60, TimeUnit.SECONDS)).isTrue();
                }
              }
              return call(method, real, args);
            });
  }

  private static Object call(java.lang.reflect.Method method, Object target, Object[] args)
      throws Throwable {
    try {
      return method.invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }

  private OutboxRelay relay(DataSource dataSource, String id, int batchSize) {
    OutboxRelay relay =
        RelayTestSupport.fastRelay(dataSource, kafka.bootstrapServers())
            .instanceId(id)
            .batchSize(batchSize)
            .build();
    relays.add(relay);
    return relay;
  }

  @Test
  void aDeposedOwnersLateMarkLosesNothingTheSuccessorHasNotSent() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    RelayTestSupport.clearRelayTables(db.dataSource());
    String topic = "latemark" + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 4);
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    // Round n of every key has the value "n:k": Ordering checks the first copies per key.
    int keys = 8;
    tx.execute(
        c ->
            outbox.appendAll(
                IntStream.range(0, keys * 3)
                    .mapToObj(
                        i ->
                            OutboxMessage.of(
                                topic, "key-" + i % keys, "Counted", i / keys + ":" + i % keys))
                    .toList()));

    // A's batch holds one row per partition, so rows of its partitions it never sent stay behind.
    OutboxRelay a = relay(stalling(db.dataSource()), "late-a", 8);
    a.start();
    assertThat(markArrived.await(30, TimeUnit.SECONDS))
        .as("A sent its batch and got to marking it")
        .isTrue();
    beatsFrozen = true;
    OutboxRelay b = relay(db.dataSource(), "late-b", 500);
    b.pause();
    b.start();
    // A's session lock is still held (its process lives): B waits for the leases' TTL (2 s).
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> RelayTestSupport.leasesOwnedBy(db.dataSource(), "late-b") == 16);
    assertThat(RelayTestSupport.rows(db.dataSource(), "status = 'PENDING'"))
        .as("rows still pending when the successor owns every partition")
        .isEqualTo(keys * 3);

    markGate.countDown();
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> RelayTestSupport.rows(db.dataSource(), "status = 'PENDING'") < keys * 3);
    long left = RelayTestSupport.rows(db.dataSource(), "status = 'PENDING'");
    System.out.printf(
        "[late-mark] A's late mark deleted %d rows; %d it never sent stay pending for B%n",
        keys * 3 - left, left);
    assertThat(left).as("rows A never sent").isPositive();
    b.resume();
    tx.execute(
        c ->
            outbox.appendAll(
                IntStream.range(keys * 3, keys * 5)
                    .mapToObj(
                        i ->
                            OutboxMessage.of(
                                topic, "key-" + i % keys, "Counted", i / keys + ":" + i % keys))
                    .toList()));
    beatGate.countDown();
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      List<ConsumerRecord<byte[], byte[]>> records =
          reader.readUntil(r -> Ordering.of(r).distinct() >= keys * 5, Duration.ofSeconds(30));
      Ordering ordering = Ordering.of(records);
      System.out.printf(
          "[late-mark] %d events: %d distinct, %d duplicates, %d order violations%n",
          keys * 5, ordering.distinct(), ordering.duplicates(), ordering.violations().size());
      assertThat(ordering.distinct()).as("distinct events in Kafka").isEqualTo(keys * 5);
      assertThat(ordering.violations()).isEmpty();
    }
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> RelayTestSupport.rows(db.dataSource(), "1 = 1") == 0);
  }
}
