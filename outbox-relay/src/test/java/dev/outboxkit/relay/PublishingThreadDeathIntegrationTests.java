package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.spi.TopicRouter;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import dev.outboxkit.test.TestServers;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * Issue 19, finding 3: a publishing thread that dies of an {@link Error} (here a {@link
 * LinkageError} thrown by the topic router, as a class missing at run time would) must not keep its
 * partitions while heartbeats renew them and the status says RUNNING. The relay fails over: its
 * status is FAILED with the cause, its leases are released, and another instance takes the
 * partitions and publishes the event.
 */
@ServerTest
@Isolated
class PublishingThreadDeathIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  static final KafkaTestBroker kafka = TestServers.kafka();

  private final List<OutboxRelay> relays = new CopyOnWriteArrayList<>();

  @AfterEach
  void closeRelays() {
    relays.forEach(OutboxRelay::close);
  }

  @Test
  void aPublishingThreadKilledByAnErrorFailsTheRelayOverToAnotherInstance() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    RelayTestSupport.clearRelayTables(db.dataSource());
    String topic = "death" + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 1);
    TopicRouter dies =
        event -> {
          if (event.aggregateId().equals("fatal")) {
            throw new LinkageError("injected by the test: a class missing at run time");
          }
          return event.aggregateType();
        };
    OutboxRelay doomed =
        relay(
            RelayTestSupport.fastRelay(db.dataSource(), kafka.bootstrapServers())
                .instanceId("doomed")
                .topicRouter(dies));
    doomed.start();
    await()
        .dontCatchUncaughtExceptions()
        .atMost(Duration.ofSeconds(20))
        .until(() -> doomed.status().ownedPartitions().size() == 16);

    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    OutboxEvent fatal =
        tx.inTransaction(c -> outbox.append(OutboxMessage.of(topic, "fatal", "Happened", "{}")));

    await()
        .dontCatchUncaughtExceptions()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () -> assertThat(doomed.status().state()).isEqualTo(RelayStatus.State.FAILED));
    assertThat(doomed.status().lastError()).contains("LinkageError");
    assertThat(doomed.status().ownedPartitions()).isEmpty();
    assertThat(RelayTestSupport.leasesOwnedBy(db.dataSource(), "doomed"))
        .as("leases the failed relay still holds")
        .isZero();

    OutboxRelay survivor =
        relay(
            RelayTestSupport.fastRelay(db.dataSource(), kafka.bootstrapServers())
                .instanceId("survivor"));
    survivor.start();
    await()
        .dontCatchUncaughtExceptions()
        .atMost(Duration.ofSeconds(20))
        .until(() -> RelayTestSupport.leasesOwnedBy(db.dataSource(), "survivor") == 16);
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      assertThat(RelayTestSupport.eventIds(reader.readAtLeast(1, Duration.ofSeconds(30))))
          .containsExactly(fatal.id().toString());
    }
    assertThat(doomed.status().state()).isEqualTo(RelayStatus.State.FAILED);
  }

  private OutboxRelay relay(TestRelayBuilder builder) {
    OutboxRelay relay = builder.build();
    relays.add(relay);
    return relay;
  }
}
