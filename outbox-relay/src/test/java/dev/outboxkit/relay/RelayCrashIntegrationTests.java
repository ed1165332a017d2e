package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import dev.outboxkit.test.TestServers;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * A relay JVM killed with SIGKILL in the middle of its work, then a new one: nothing is lost,
 * per-key order holds, and duplicates stay within the batches that were in flight.
 */
@ServerTest
@Isolated
class RelayCrashIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  static final KafkaTestBroker kafka = TestServers.kafka();

  private final RelayProcesses processes = new RelayProcesses();

  @AfterEach
  void killProcesses() {
    processes.close();
  }

  private Process startRelayProcess(String id) throws Exception {
    return processes.start(db.database(), kafka.bootstrapServers(), id, null);
  }

  @Test
  void aRelayKilledWithSigkillLosesNothingAndKeepsPerKeyOrder() throws Exception {
    String topic = "crash" + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 4);
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    int keys = 100;
    int perKey = 200;
    ExecutorService writer = Executors.newSingleThreadExecutor();
    Future<?> writing =
        writer.submit(
            () -> {
              for (int n = 0; n < perKey; n++) {
                int seq = n;
                for (int from = 0; from < keys; from += 50) {
                  int start = from;
                  tx.execute(
                      c ->
                          outbox.appendAll(
                              java.util.stream.IntStream.range(start, start + 50)
                                  .mapToObj(
                                      k ->
                                          OutboxMessage.of(
                                              topic, "key-" + k, "Counted", seq + ":" + k))
                                  .toList()));
                }
                if (n % 20 == 0) {
                  Thread.sleep(100);
                }
              }
              return null;
            });
    Process first = startRelayProcess("crash-1");
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      reader.readUntil(r -> r.size() >= 5_000, Duration.ofSeconds(60));
      first.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      assertThat(first.isAlive()).isFalse();
      int atKill = reader.readFor(Duration.ofMillis(200)).size();
      startRelayProcess("crash-2");
      writing.get(120, TimeUnit.SECONDS);
      List<ConsumerRecord<byte[], byte[]>> records =
          reader.readUntil(
              r -> Ordering.of(r).distinct() >= keys * perKey, Duration.ofSeconds(120));
      records = reader.readFor(Duration.ofMillis(500));
      Ordering ordering = Ordering.of(records);
      System.out.printf(
          "[crash] killed after %d records; %d events: %d distinct, %d duplicates, %d order violations%n",
          atKill,
          keys * perKey,
          ordering.distinct(),
          ordering.duplicates(),
          ordering.violations().size());
      assertThat(ordering.violations()).isEmpty();
      assertThat(ordering.distinct()).isEqualTo(keys * perKey);
      // At most the batches in flight when the process died: each publishing thread has one
      // unacknowledged batch at a time, of up to ceil(batchSize / partitions) rows from each of the
      // 16 partitions; with the default batch size a read grows under a backlog, up to
      // maxBatchSize, and with the default thread count up to maxPublishThreads threads send.
      int batch = 16 * -Math.floorDiv(-RelayDefaults.maxBatchSize(RelayDefaults.BATCH_SIZE), 16);
      int threads = RelayDefaults.maxPublishThreads(RelayDefaults.PUBLISH_THREADS, 16);
      assertThat(ordering.duplicates()).isLessThanOrEqualTo(batch * threads);
    } finally {
      writer.shutdownNow();
    }
  }
}
