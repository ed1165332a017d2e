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
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * A zombie: the active relay's whole process is frozen (SIGSTOP, as a long GC pause or a stalled VM
 * would) for longer than its lease while writers go on; a second relay takes over; then the first
 * wakes up (SIGCONT) with its batch and its producer where it left them. It must not publish after
 * its lease is gone: no record it sends between waking and a new claim (records carry their sender
 * and send time, {@link SenderTags}), every key's first copies stay in order and nothing is lost.
 */
@ServerTest
@Isolated
class RelayZombieIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  static final KafkaTestBroker kafka = TestServers.kafka();

  private final RelayProcesses processes = new RelayProcesses();

  @AfterEach
  void killProcesses() {
    processes.close();
  }

  private static void signal(Process process, String signal) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + signal, String.valueOf(process.pid())).start();
    assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(kill.exitValue()).as("kill -%s", signal).isZero();
  }

  private int owned(String prefix) throws SQLException {
    return RelayTestSupport.leasesOwnedBy(db.dataSource(), prefix);
  }

  @Test
  void aRelayFrozenPastItsLeasePublishesNothingOutOfOrderWhenItWakes() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    RelayTestSupport.clearRelayTables(db.dataSource());
    String topic = "zombie" + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 4);
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    CountedWriter writer = new CountedWriter(tx, outbox, topic, 50);
    processes.tagSenders();
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      Process zombie =
          processes.start(db.database(), kafka.bootstrapServers(), "zombie-a", null, "3s,250ms");
      reader.readUntil(r -> r.size() >= 2_000, Duration.ofSeconds(60));
      signal(zombie, "STOP");
      // Every send() the zombie began before the freeze is stamped earlier than this.
      long frozenAt = System.currentTimeMillis();
      Process successor =
          processes.start(db.database(), kafka.bootstrapServers(), "zombie-b", null, "3s,250ms");
      await().atMost(Duration.ofSeconds(30)).until(() -> owned("zombie-b") == 16);
      int seenBeforeWaking = reader.readFor(Duration.ofSeconds(1)).size();
      signal(zombie, "CONT");
      // Awake again: it must find its leases gone and take part only through a new claim. Until
      // the last look that found it holding no partition, it may not send anything.
      long ownedNothingUntil = System.currentTimeMillis();
      long watchUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
      while (System.nanoTime() < watchUntil) {
        long lookedAt = System.currentTimeMillis();
        if (owned("zombie-a") > 0) {
          break;
        }
        ownedNothingUntil = lookedAt;
        reader.pollOnce(Duration.ofMillis(20));
      }
      int total = writer.stop();
      List<ConsumerRecord<byte[], byte[]>> records =
          reader.readUntil(r -> Ordering.of(r).distinct() >= total, Duration.ofSeconds(120));
      Ordering ordering = Ordering.of(records);
      long woken = ownedNothingUntil;
      List<ConsumerRecord<byte[], byte[]>> zombieWrites =
          records.stream()
              .filter(r -> SenderTags.sender(r).equals("zombie-a"))
              .filter(r -> SenderTags.sentAt(r) > frozenAt && SenderTags.sentAt(r) < woken)
              .toList();
      long lateFromBuffer =
          records.subList(seenBeforeWaking, records.size()).stream()
              .filter(r -> SenderTags.sender(r).equals("zombie-a"))
              .filter(r -> SenderTags.sentAt(r) <= frozenAt)
              .count();
      System.out.printf(
          "[zombie] %d events: %d distinct, %d duplicates, %d order violations; successor owns %d"
              + " partitions, the woken zombie %d; records the zombie sent after waking without a"
              + " lease: %d; records it had sent before the freeze that landed after: %d%n",
          total,
          ordering.distinct(),
          ordering.duplicates(),
          ordering.violations().size(),
          owned("zombie-b"),
          owned("zombie-a"),
          zombieWrites.size(),
          lateFromBuffer);
      assertThat(records).allMatch(r -> !SenderTags.sender(r).isEmpty(), "tagged by its sender");
      // The send window is asked before each event is handed over, then send() stamps the record
      // (SenderTags' interceptor runs inside it). A freeze that lands between the two lets that one
      // hand-over finish after waking: at most one record per publishing thread (the relay runs
      // one). A first run of three clean-clone CI runs saw exactly that once. Anything more is a
      // hand-over that asked the window after waking and went on, the defect this test is for.
      assertThat(zombieWrites)
          .as("records the woken zombie sent without a lease, beyond the hand-over in progress")
          .hasSizeLessThanOrEqualTo(1);
      assertThat(ordering.violations()).isEmpty();
      assertThat(ordering.distinct()).isEqualTo(total);
      assertThat(successor.isAlive()).isTrue();
    } finally {
      writer.close();
    }
  }
}
