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
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * The database goes away (every connection cut, new ones refused) while the relay runs: its leases
 * lapse and it stops publishing, then it reconnects, takes its partitions back and delivers
 * everything in order.
 */
@ServerTest
@Isolated
class DatabaseOutageIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  static final KafkaTestBroker kafka = TestServers.kafka();

  @Test
  void theRelayRidesOutADatabaseOutageAndDeliversEverythingInOrder() throws Exception {
    String topic = "dbout" + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 4);
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    int[] next = new int[10];
    Runnable write =
        () ->
            tx.execute(
                c ->
                    outbox.appendAll(
                        IntStream.range(0, 10)
                            .mapToObj(
                                k -> OutboxMessage.of(topic, "key-" + k, "Counted", next[k]++ + ""))
                            .toList()));
    try (OutboxRelay relay =
            TestRelayBuilder.relay()
                .dataSource(db.dataSource())
                .bootstrapServers(kafka.bootstrapServers())
                .meterRegistry(new SimpleMeterRegistry())
                .leases(Duration.ofSeconds(2), Duration.ofMillis(250))
                .pollInterval(Duration.ofMillis(5), Duration.ofMillis(200))
                .build();
        KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      relay.start();
      for (int i = 0; i < 20; i++) {
        write.run();
      }
      assertThat(reader.readAtLeast(200, Duration.ofSeconds(20))).hasSize(200);

      String name = db.database().name();
      try (Connection admin =
              DriverManager.getConnection(
                  db.database().jdbcUrl().replace("/" + name, "/postgres"),
                  db.database().username(),
                  db.database().password());
          Statement s = admin.createStatement()) {
        s.execute("ALTER DATABASE " + name + " ALLOW_CONNECTIONS false");
        s.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                + " WHERE datname = '"
                + name
                + "'");
        await()
            .atMost(Duration.ofSeconds(30))
            .until(
                () ->
                    relay.status().ownedPartitions().isEmpty()
                        || relay.status().lastError() != null);
        // Cut off from the lease table for longer than the TTL (2 s), it no longer trusts its
        // leases. Awaited rather than asserted after a fixed sleep of just over the TTL: a busy
        // 2-core machine can delay the relay's lease check past any such margin.
        await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> relay.status().ownedPartitions().isEmpty());
        System.out.printf(
            "[db-outage] during: owned=%d lastError=%s%n",
            relay.status().ownedPartitions().size(), relay.status().lastError());
        s.execute("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true");
      }
      await()
          .atMost(Duration.ofSeconds(30))
          .ignoreExceptions()
          .until(
              () -> {
                write.run();
                return true;
              });
      for (int i = 0; i < 19; i++) {
        write.run();
      }
      List<ConsumerRecord<byte[], byte[]>> records =
          reader.readUntil(r -> Ordering.of(r).distinct() >= 400, Duration.ofSeconds(60));
      Ordering ordering = Ordering.of(records);
      System.out.printf(
          "[db-outage] after: %d distinct, %d duplicates, %d violations, owned=%d%n",
          ordering.distinct(),
          ordering.duplicates(),
          ordering.violations().size(),
          relay.status().ownedPartitions().size());
      assertThat(ordering.violations()).isEmpty();
      assertThat(ordering.distinct()).isEqualTo(400);
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> relay.status().ownedPartitions().size() == 16);
      assertThat(relay.status().state()).isEqualTo(RelayStatus.State.RUNNING);
    }
  }
}
