package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.cdc.CdcSchema;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import dev.outboxkit.test.TestServers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * The active CDC relay is a JVM of its own, killed with SIGKILL under load; a standby in this JVM
 * takes the engine's lease over within a bounded time and goes on from the stored offsets: nothing
 * lost, per-key order kept, duplicates within the batch that was in flight.
 */
@ServerTest
@Isolated
abstract class CdcRelayCrashContractTests {

  static final KafkaTestBroker kafka = TestServers.kafka();

  abstract TestDatabaseExtension database();

  private final RelayProcesses processes = new RelayProcesses();
  private OutboxRelay standby;

  @AfterEach
  void cleanUp() throws Exception {
    processes.close();
    if (standby != null) {
      standby.close();
    }
    try (Connection c = database().dataSource().getConnection();
        Statement s = c.createStatement()) {
      if (OutboxDialect.detect(c).name().equals("postgresql")) {
        s.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                + " WHERE slot_name = 'crashcdc' AND NOT active");
      } else {
        s.execute("DELETE FROM outbox_cdc_state WHERE name = 'crashcdc'");
        s.execute("DELETE FROM outbox_cdc_state_history WHERE name = 'crashcdc'");
      }
    }
  }

  private Process startRelayProcess(String id) throws Exception {
    // A 30 s ttl: the standby must take over through the dead session's lock, not the ttl.
    return processes.start(
        database().database(), kafka.bootstrapServers(), id, "crashcdc", "30s,500ms");
  }

  @Test
  void aStandbyTakesOverFromAnActiveRelayKilledWithSigkillAndLosesNothing() throws Exception {
    String topic = "cdccrash" + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 4);
    OutboxDialect dialect = RelayTables.create(database().dataSource());
    try (Connection c = database().dataSource().getConnection()) {
      CdcSchema.create(c, dialect, OutboxTable.of("outbox_cdc_state"));
    }
    JdbcTransactions tx = JdbcTransactions.of(database().dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    Process active = startRelayProcess("cdc-active");
    // The first event waits for the child's engine: from then on it streams.
    tx.execute(c -> outbox.append(OutboxMessage.of(topic, "key-0", "Counted", "0:0")));
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      assertThat(reader.readAtLeast(1, Duration.ofSeconds(60))).hasSize(1);
    }
    standby =
        TestRelayBuilder.relay()
            .dataSource(database().dataSource())
            .bootstrapServers(kafka.bootstrapServers())
            .instanceId("cdc-standby")
            .cdc(
                CdcOptions.builder(
                        database().database().jdbcUrl(),
                        database().database().username(),
                        database().database().password())
                    .name("crashcdc")
                    .heartbeatInterval(Duration.ofMillis(500))
                    .build())
            .leases(Duration.ofSeconds(30), Duration.ofMillis(500))
            .meterRegistry(new SimpleMeterRegistry())
            .build();
    standby.start();
    Thread.sleep(1000);
    assertThat(standby.status().active())
        .as("the standby waits while the active one lives")
        .isFalse();

    int keys = 100;
    int perKey = 100;
    // key-1..99 get their event 0 before the writer starts, so every key counts from 0.
    tx.execute(
        c ->
            outbox.appendAll(
                IntStream.range(1, keys)
                    .mapToObj(k -> OutboxMessage.of(topic, "key-" + k, "Counted", "0:" + k))
                    .toList()));
    ExecutorService writer = Executors.newSingleThreadExecutor();
    Future<?> writing =
        writer.submit(
            () -> {
              for (int n = 1; n < perKey; n++) {
                int seq = n;
                tx.execute(
                    c ->
                        outbox.appendAll(
                            IntStream.range(0, keys)
                                .mapToObj(
                                    k ->
                                        OutboxMessage.of(
                                            topic, "key-" + k, "Counted", seq + ":" + k))
                                .toList()));
                if (n % 10 == 0) {
                  Thread.sleep(100);
                }
              }
              return null;
            });
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      reader.readUntil(r -> r.size() >= 3_000, Duration.ofSeconds(60));
      active.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      long killed = System.nanoTime();
      int atKill = reader.readFor(Duration.ofMillis(100)).size();
      await().atMost(Duration.ofSeconds(30)).until(() -> standby.status().active());
      Duration takeover = Duration.ofNanos(System.nanoTime() - killed);
      writing.get(120, TimeUnit.SECONDS);
      reader.readUntil(r -> Ordering.of(r).distinct() >= keys * perKey, Duration.ofSeconds(120));
      List<ConsumerRecord<byte[], byte[]>> records = reader.readFor(Duration.ofMillis(500));
      Ordering ordering = Ordering.of(records);
      System.out.printf(
          "[cdc crash] killed after %d records; standby active %d ms later; %d events: %d"
              + " distinct, %d duplicates, %d order violations%n",
          atKill,
          takeover.toMillis(),
          keys * perKey,
          ordering.distinct(),
          ordering.duplicates(),
          ordering.violations().size());
      assertThat(ordering.violations()).isEmpty();
      assertThat(ordering.distinct()).isEqualTo(keys * perKey);
      // The batch being sent when the process died, and nothing more: offsets are stored after
      // every acknowledged batch of at most batchSize changes.
      assertThat(ordering.duplicates()).isLessThanOrEqualTo(RelayDefaults.BATCH_SIZE);
      // A missed renewal (0.75 s) + one lease check (0.5 s) + the engine's start; the ttl is 30 s.
      assertThat(takeover).isLessThan(Duration.ofSeconds(15));
    } finally {
      writer.shutdownNow();
    }
  }
}
