package dev.outboxkit.relay;

import static dev.outboxkit.relay.RelayTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.spi.TopicRouter;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import dev.outboxkit.test.TestServers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The polling relay reading from a read floor (PostgreSQL, schema version 12 present): rows that
 * commit late, held keys, moving leases, and writers with transactions left open for a while; every
 * event arrives, in per-key order.
 */
@ServerTest
class PostgresReadFloorRelayIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private static final KafkaTestBroker kafka = TestServers.kafka();
  private static final AtomicInteger topics = new AtomicInteger();

  private final List<OutboxRelay> relays = new CopyOnWriteArrayList<>();
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
    topic = "floor" + topics.incrementAndGet() + "x" + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 4);
    tx = JdbcTransactions.of(db.dataSource());
    outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
  }

  @AfterEach
  void closeRelays() {
    relays.forEach(OutboxRelay::close);
  }

  private OutboxRelay relay(UnaryOperator<TestRelayBuilder> options) {
    OutboxRelay relay =
        options
            .apply(
                TestRelayBuilder.relay()
                    .dataSource(db.dataSource())
                    .bootstrapServers(kafka.bootstrapServers())
                    .leases(Duration.ofSeconds(2), Duration.ofMillis(250))
                    .pollInterval(Duration.ofMillis(5), Duration.ofMillis(50))
                    .metricsInterval(Duration.ofMillis(200))
                    .meterRegistry(new SimpleMeterRegistry())
                    .shutdownTimeout(Duration.ofSeconds(10)))
            .build();
    relays.add(relay);
    return relay;
  }

  private KafkaReader reader(String topic) {
    return new KafkaReader(kafka.bootstrapServers(), topic);
  }

  /**
   * Transaction A takes its {@code seq} (for key k1) and stays open; B writes key k2 and commits;
   * the relay delivers k2 and more rows written after it; then A commits. A's row lies below rows
   * already read, and must still be delivered: the floor waits for A's transaction.
   */
  @Test
  void aTransactionThatCommitsAfterLaterRowsWereDeliveredIsDelivered() throws Exception {
    CountDownLatch inserted = new CountDownLatch(1);
    CountDownLatch commit = new CountDownLatch(1);
    CompletableFuture<Void> late =
        CompletableFuture.runAsync(
            () ->
                tx.execute(
                    c -> {
                      outbox.append(OutboxMessage.of(topic, "k1", "Late", "0"));
                      inserted.countDown();
                      awaitLatch(commit);
                    }));
    assertThat(inserted.await(30, TimeUnit.SECONDS)).isTrue();
    relay(b -> b).start();
    try (KafkaReader reader = reader(topic)) {
      for (int n = 0; n < 20; n++) {
        int value = n;
        tx.execute(c -> outbox.append(OutboxMessage.of(topic, "k2", "Early", value + "")));
        Thread.sleep(20);
      }
      List<ConsumerRecord<byte[], byte[]>> records =
          reader.readUntil(r -> Ordering.of(r).distinct() >= 20, Duration.ofSeconds(30));
      assertThat(Ordering.of(records).distinct()).isEqualTo(20);
      commit.countDown();
      late.get(30, TimeUnit.SECONDS);
      for (int n = 20; n < 25; n++) {
        int value = n;
        tx.execute(c -> outbox.append(OutboxMessage.of(topic, "k2", "Early", value + "")));
      }
      records = reader.readUntil(r -> Ordering.of(r).distinct() >= 26, Duration.ofSeconds(15));
      assertThat(records.stream().map(r -> text(r.key())).toList())
          .as("the late transaction's event, committed after 20 later events were delivered")
          .contains("k1");
      assertThat(Ordering.of(records).violations()).isEmpty();
    }
  }

  /**
   * The trigger disabled while the relay runs: the housekeeping's next check turns the floor off,
   * and a transaction whose insert took its {@code seq} long before its transaction id (a row
   * trigger sleeps between the two; without the statement trigger nothing gives it an id earlier)
   * is still delivered, although rows above it were delivered while it was open.
   */
  @Test
  void aTriggerDisabledAtRunTimeTurnsTheFloorOff() throws Exception {
    execute(
        "CREATE OR REPLACE FUNCTION floor_test_slow() RETURNS trigger LANGUAGE plpgsql AS $$"
            + " BEGIN IF NEW.aggregateid = 'slow' THEN PERFORM pg_sleep(1.5); END IF;"
            + " RETURN NEW; END $$");
    execute(
        "CREATE TRIGGER floor_test_slow BEFORE INSERT ON outbox_event FOR EACH ROW"
            + " EXECUTE FUNCTION floor_test_slow()");
    try {
      relay(b -> b).start();
      try (KafkaReader reader = reader(topic)) {
        for (int n = 0; n < 5; n++) {
          int value = n;
          tx.execute(c -> outbox.append(OutboxMessage.of(topic, "fast", "Fast", value + "")));
        }
        reader.readUntil(r -> Ordering.of(r).distinct() >= 5, Duration.ofSeconds(30));
        execute("ALTER TABLE outbox_event DISABLE TRIGGER outbox_event_assign_xid");
        Thread.sleep(1_000); // a few housekeeping rounds (every 200 ms here)
        CompletableFuture<Void> slow =
            CompletableFuture.runAsync(
                () -> tx.execute(c -> outbox.append(OutboxMessage.of(topic, "slow", "Slow", "0"))));
        Thread.sleep(300);
        for (int n = 5; n < 15; n++) {
          int value = n;
          tx.execute(c -> outbox.append(OutboxMessage.of(topic, "fast", "Fast", value + "")));
          Thread.sleep(50);
        }
        slow.get(30, TimeUnit.SECONDS);
        for (int n = 15; n < 20; n++) {
          int value = n;
          tx.execute(c -> outbox.append(OutboxMessage.of(topic, "fast", "Fast", value + "")));
        }
        List<ConsumerRecord<byte[], byte[]>> records =
            reader.readUntil(r -> Ordering.of(r).distinct() >= 21, Duration.ofSeconds(15));
        assertThat(records.stream().map(r -> text(r.key())).toList())
            .as("the slow insert, committed after later rows were delivered")
            .contains("slow");
      }
    } finally {
      execute("DROP TRIGGER floor_test_slow ON outbox_event");
      execute("ALTER TABLE outbox_event ENABLE ALWAYS TRIGGER outbox_event_assign_xid");
    }
  }

  private static void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  /**
   * Key "held"'s first event fails (its topic does not exist yet) and waits for a retry, below rows
   * of other keys that are delivered meanwhile; the floor must not pass it. Once the topic exists
   * the retry succeeds, and the key's events arrive in order.
   */
  @Test
  void aHeldKeysEventBelowDeliveredRowsIsDeliveredAfterItsRetryInOrder() throws Exception {
    String late = topic + "-late";
    TopicRouter router = TopicRouter.mapping(Map.of("late", late), TopicRouter.prefixed(""));
    OutboxRelay relay =
        relay(
            b ->
                b.topicRouter(router)
                    .maxAttempts(1_000)
                    .retryBackoff(Duration.ofMillis(200), 2.0, Duration.ofMillis(500)));
    tx.execute(c -> outbox.append(OutboxMessage.of("late", "held", "First", "0")));
    relay.start();
    try (KafkaReader reader = reader(topic)) {
      for (int n = 0; n < 30; n++) {
        int value = n;
        tx.execute(
            c ->
                outbox.appendAll(
                    List.of(
                        OutboxMessage.of(topic, "free-a", "Free", value + ""),
                        OutboxMessage.of(topic, "free-b", "Free", value + ""))));
        Thread.sleep(20);
      }
      List<ConsumerRecord<byte[], byte[]>> records =
          reader.readUntil(r -> Ordering.of(r).distinct() >= 60, Duration.ofSeconds(30));
      assertThat(Ordering.of(records).distinct()).isEqualTo(60);
    }
    for (int n = 1; n < 3; n++) {
      int value = n;
      tx.execute(c -> outbox.append(OutboxMessage.of("late", "held", "Later", value + "")));
    }
    Thread.sleep(1_000); // a few failed attempts, with the floor moving past the free keys' rows
    kafka.createTopic(late, 1);
    try (KafkaReader reader = reader(late)) {
      List<ConsumerRecord<byte[], byte[]>> records =
          reader.readUntil(r -> Ordering.of(r).distinct() >= 3, Duration.ofSeconds(30));
      assertThat(records.stream().map(r -> text(r.value())).distinct().toList())
          .containsExactly("0", "1", "2");
    }
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> RelayTestSupport.rows(db.dataSource(), "1 = 1") == 0);
  }

  /**
   * Partitions move between relays (one joins, then the first leaves) while writers keep writing,
   * some transactions open for a while: nothing is skipped, order holds per key.
   */
  @Test
  void leasesMovingWhileTransactionsStayOpenSkipNothing() throws Exception {
    Writers writers = new Writers(8, 4, 40, 7);
    OutboxRelay first = relay(b -> b);
    first.start();
    writers.start();
    Thread.sleep(1_000);
    OutboxRelay second = relay(b -> b);
    second.start();
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> second.status().ownedPartitions().size() >= 6);
    first.close();
    writers.finish();
    writers.assertEveryEventArrivedInOrder();
  }

  /**
   * Randomized: several writer threads, each writing its own keys one transaction after another,
   * some transactions left open for a random while (up to 300 ms) after their insert, with one or
   * two relays reading from the floor: every event arrives, per key in order.
   */
  @Test
  void randomWritersWithOpenTransactionsLoseNothing() throws Exception {
    long seed = System.nanoTime();
    System.out.println("[read-floor] random writers, seed " + seed);
    Writers writers = new Writers(6, 5, 60, seed);
    relay(b -> b.publishThreads(2)).start();
    writers.start();
    Thread.sleep(1_500);
    relay(b -> b).start();
    writers.finish();
    writers.assertEveryEventArrivedInOrder();
  }

  /**
   * Writer threads, each with its own keys, each key's events written one transaction after
   * another.
   */
  private final class Writers {
    private final int threads;
    private final int keysPerThread;
    private final int perKey;
    private final long seed;
    private final ExecutorService pool;
    private final List<Future<?>> running = new ArrayList<>();

    Writers(int threads, int keysPerThread, int perKey, long seed) {
      this.threads = threads;
      this.keysPerThread = keysPerThread;
      this.perKey = perKey;
      this.seed = seed;
      this.pool = Executors.newFixedThreadPool(threads);
    }

    void start() {
      for (int t = 0; t < threads; t++) {
        int thread = t;
        running.add(
            pool.submit(
                () -> {
                  Random random = new Random(seed + thread);
                  for (int n = 0; n < perKey; n++) {
                    int value = n;
                    // This round's event of every key, one or two keys a transaction.
                    for (int k = 0; k < keysPerThread; k++) {
                      List<Integer> slice = new ArrayList<>();
                      slice.add(k);
                      if (k + 1 < keysPerThread && random.nextBoolean()) {
                        slice.add(++k);
                      }
                      boolean slow = random.nextInt(6) == 0;
                      int hold = random.nextInt(300);
                      tx.execute(
                          c -> {
                            outbox.appendAll(
                                slice.stream()
                                    .map(
                                        key ->
                                            OutboxMessage.of(
                                                topic,
                                                "w" + thread + "-k" + key,
                                                "Counted",
                                                value + ":" + key))
                                    .toList());
                            if (slow) {
                              sleep(hold);
                            }
                          });
                    }
                  }
                  return null;
                }));
      }
    }

    void finish() throws Exception {
      for (Future<?> f : running) {
        f.get(60, TimeUnit.SECONDS);
      }
      pool.shutdown();
    }

    void assertEveryEventArrivedInOrder() {
      int total = threads * keysPerThread * perKey;
      try (KafkaReader reader = reader(topic)) {
        List<ConsumerRecord<byte[], byte[]>> records =
            reader.readUntil(r -> Ordering.of(r).distinct() >= total, Duration.ofSeconds(30));
        Ordering ordering = Ordering.of(records);
        System.out.printf(
            "[read-floor] %d events: %d distinct, %d duplicates, %d order violations%n",
            total, ordering.distinct(), ordering.duplicates(), ordering.violations().size());
        assertThat(ordering.violations()).isEmpty();
        assertThat(ordering.distinct()).isEqualTo(total);
      }
    }
  }

  private static void sleep(int millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static void awaitLatch(CountDownLatch latch) {
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
