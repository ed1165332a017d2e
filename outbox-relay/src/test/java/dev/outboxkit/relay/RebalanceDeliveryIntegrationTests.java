package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import dev.outboxkit.test.TestServers;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Rebalancing as the events see it (the lease hand-over itself is timed in {@code
 * LeaseRebalanceIntegrationTests}): a second relay joins one that is busy under a steady load; it
 * gets its share, both go on publishing, and every event arrives, its key's first copies in order,
 * with no more duplicates than one batch.
 */
@ServerTest
class RebalanceDeliveryIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  static final KafkaTestBroker kafka = TestServers.kafka();

  private static final int BATCH = 50;

  private static double published(SimpleMeterRegistry registry) {
    Counter c = registry.find("outbox.events.published").counter();
    return c == null ? 0 : c.count();
  }

  private static OutboxRelay relay(String id, SimpleMeterRegistry registry) {
    return RelayTestSupport.fastRelay(db.dataSource(), kafka.bootstrapServers())
        .instanceId(id)
        .meterRegistry(registry)
        .batchSize(BATCH)
        .build();
  }

  @Test
  void aJoiningRelayTakesItsShareUnderLoadAndEveryEventArrivesInOrder() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    RelayTestSupport.clearRelayTables(db.dataSource());
    String topic = "rebalance" + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 4);
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    SimpleMeterRegistry first = new SimpleMeterRegistry();
    SimpleMeterRegistry joining = new SimpleMeterRegistry();
    CountedWriter writer = new CountedWriter(tx, outbox, topic, 20);
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic);
        OutboxRelay a = relay("rebalance-a", first);
        OutboxRelay b = relay("rebalance-b", joining)) {
      a.start();
      reader.readUntil(r -> r.size() >= 500, Duration.ofSeconds(60));
      b.start();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  a.status().ownedPartitions().size() == 8
                      && b.status().ownedPartitions().size() == 8);
      double firstAtHandOver = published(first);
      // Both publish their share under the load that goes on.
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> published(joining) >= 500 && published(first) >= firstAtHandOver + 500);
      int total = writer.stop();
      List<ConsumerRecord<byte[], byte[]>> records =
          reader.readUntil(r -> Ordering.of(r).distinct() >= total, Duration.ofSeconds(120));
      Ordering ordering = Ordering.of(records);
      System.out.printf(
          "[rebalance] %d events: %d distinct, %d duplicates, %d order violations; published by"
              + " the first relay %.0f (%.0f before the hand-over), by the joining one %.0f%n",
          total,
          ordering.distinct(),
          ordering.duplicates(),
          ordering.violations().size(),
          published(first),
          firstAtHandOver,
          published(joining));
      assertThat(ordering.violations()).isEmpty();
      assertThat(ordering.distinct()).isEqualTo(total);
      // A hand-over waits for the batch in flight, so nothing should be sent twice; a lease that
      // lapsed on a starved machine may cost one batch, never more.
      assertThat(ordering.duplicates()).isLessThanOrEqualTo(BATCH);
    } finally {
      writer.close();
    }
  }
}
