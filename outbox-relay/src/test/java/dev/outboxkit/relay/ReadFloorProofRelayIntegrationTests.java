package dev.outboxkit.relay;

import static dev.outboxkit.relay.RelayTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;

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
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The read floor's proof through the whole polling relay: a writer whose transaction id is at or
 * above the xmax of the read's snapshot is in no candidate's in-progress list, and the floor must
 * not pass its row (the same case on the rows alone: {@code
 * ReadFloorProofIntegrationTests.aWriterWhoseIdIsAtOrAboveTheSnapshotsXmaxIsNotPassed}).
 */
@ServerTest
class ReadFloorProofRelayIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private static final KafkaTestBroker kafka = TestServers.kafka();

  private OutboxRelay relay;
  private String topic;
  private JdbcTransactions tx;
  private Outbox outbox;

  @BeforeEach
  void setUp() throws SQLException {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    RelayTestSupport.clearRelayTables(db.dataSource());
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_event");
    }
    topic = "review12x" + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 4);
    tx = JdbcTransactions.of(db.dataSource());
    outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
  }

  @AfterEach
  void close() {
    if (relay != null) {
      relay.close();
    }
  }

  /**
   * Writer A does its business write first (lower id), then writer B appends (the trigger gives B
   * the higher id, the row the lower seq) and stays open, A appends and commits. The relay, woken
   * at once, reads A's row in a snapshot whose xmax is A's id + 1: B is not in its in-progress
   * list. After B commits its event is never delivered while the relay runs (round after round).
   *
   * <p>Review12 of the read floor found it (its finding 1).
   */
  @Test
  void aLateWriterWithTheHigherTransactionIdIsDelivered() throws Exception {
    relay =
        TestRelayBuilder.relay()
            .dataSource(db.dataSource())
            .bootstrapServers(kafka.bootstrapServers())
            .leases(Duration.ofSeconds(2), Duration.ofMillis(250))
            .pollInterval(Duration.ofMillis(5), Duration.ofMillis(50))
            .metricsInterval(Duration.ofMillis(200))
            .meterRegistry(new SimpleMeterRegistry())
            .shutdownTimeout(Duration.ofSeconds(10))
            .build();
    relay.start();
    int rounds = 5;
    ExecutorService writers = Executors.newFixedThreadPool(2);
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      tx.execute(c -> outbox.append(OutboxMessage.of(topic, "warm", "Warm", "w")));
      reader.readUntil(r -> r.size() >= 1, Duration.ofSeconds(30));
      for (int round = 0; round < rounds; round++) {
        String n = Integer.toString(round);
        CountDownLatch aHasId = new CountDownLatch(1);
        CountDownLatch bAppended = new CountDownLatch(1);
        CountDownLatch bCommit = new CountDownLatch(1);
        Future<?> a =
            writers.submit(
                () ->
                    tx.execute(
                        c -> {
                          xid(c); // A's business write
                          aHasId.countDown();
                          await(bAppended);
                          outbox.append(OutboxMessage.of(topic, "early" + n, "Early", n));
                        }));
        Future<?> b =
            writers.submit(
                () ->
                    tx.execute(
                        c -> {
                          await(aHasId);
                          outbox.append(OutboxMessage.of(topic, "late" + n, "Late", n));
                          bAppended.countDown();
                          await(bCommit);
                        }));
        a.get(30, TimeUnit.SECONDS); // A committed: the relay wakes and reads its row
        Thread.sleep(500); // the relay reads on: the floor rises past B's row
        bCommit.countDown();
        b.get(30, TimeUnit.SECONDS);
        for (int more = 0; more < 3; more++) {
          tx.execute(c -> outbox.append(OutboxMessage.of(topic, "more", "More", n)));
        }
      }
      List<ConsumerRecord<byte[], byte[]>> records =
          reader.readUntil(
              r -> r.stream().filter(x -> text(x.key()).startsWith("late")).count() >= rounds,
              Duration.ofSeconds(10));
      long late = records.stream().filter(x -> text(x.key()).startsWith("late")).count();
      long early = records.stream().filter(x -> text(x.key()).startsWith("early")).count();
      System.out.println("[review12] relay: early delivered " + early + ", late delivered " + late);
      assertThat(late).as("late writers' events delivered (early: %d)", early).isEqualTo(rounds);
    } finally {
      writers.shutdownNow();
    }
  }

  private static void xid(Connection c) {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT pg_current_xact_id()")) {
      rs.next();
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void await(CountDownLatch latch) {
    try {
      if (!latch.await(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("never told to go on");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
