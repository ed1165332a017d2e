package dev.outboxkit.benchmarks;

import com.sun.management.GarbageCollectionNotificationInfo;
import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.RelayConfig;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.KafkaTopics;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

/**
 * Issue 23's memory target: a backlog of 500 events of 1 MiB drained by the polling relay with its
 * defaults (the byte budget {@code outbox.relay.polling.batch-bytes} included) in a JVM of {@code
 * -Xmx512m}, which also holds the in-JVM broker and the consumer. Reports the drain rate, the
 * largest heap in use after a collection (what stays reachable: the relay's, the producer's, the
 * broker's and the consumer's buffers together), the largest heap in use at all, and the
 * collections' count and time. Run it with (see docs/benchmarks.md):
 *
 * <pre>
 * ./mvnw -pl benchmarks test -Dtest=LargeEventsBenchmark -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dbench.argLine=-Xmx512m
 * </pre>
 *
 * System properties: {@code bench.events} (500), {@code bench.payload} (1048576 bytes), {@code
 * bench.loadPerTx} (events per appending transaction, 10), {@code bench.timeout} (seconds, 300).
 * The topic allows records of 2 MiB ({@code max.message.bytes}) and the relay's producer requests
 * of 2 MiB ({@code max.request.size}): a 1 MiB payload with its key and headers is over Kafka's 1
 * MiB defaults.
 */
@ServerTest
class LargeEventsBenchmark {

  private static final int EVENTS = Integer.getInteger("bench.events", 500);
  private static final int PAYLOAD = Integer.getInteger("bench.payload", 1 << 20);
  private static final int LOAD_PER_TX = Integer.getInteger("bench.loadPerTx", 10);
  private static final int TIMEOUT = Integer.getInteger("bench.timeout", 300);
  private static final int RECORD_LIMIT = 2 << 20;

  private final KafkaTestBroker kafka = TestServers.kafka();

  @Test
  void drainLargeEventsInASmallHeap() throws Exception {
    String topic = "large" + UUID.randomUUID().toString().substring(0, 8);
    try (Admin admin = kafka.admin()) {
      admin
          .createTopics(
              List.of(
                  new NewTopic(topic, 8, (short) 1)
                      .configs(Map.of("max.message.bytes", String.valueOf(RECORD_LIMIT)))))
          .all()
          .get(60, TimeUnit.SECONDS);
    }
    byte[] payload = BenchTables.letters(PAYLOAD);
    List<String> report = new ArrayList<>();
    report.add(
        String.format(
            Locale.ROOT,
            "events=%d payload=%dB (%.0f MiB in all) max heap=%d MiB batch-bytes=%d MB cores=%d"
                + " java=%s",
            EVENTS,
            PAYLOAD,
            EVENTS * (double) PAYLOAD / (1 << 20),
            Runtime.getRuntime().maxMemory() >> 20,
            RelayDefaults.BATCH_BYTES / 1_000_000,
            Runtime.getRuntime().availableProcessors(),
            System.getProperty("java.version")));
    try (TestDatabase db =
        TestServers.database(new PostgresBenchDatabase().kind())
            .createDatabase("large_" + (System.nanoTime() % 100_000))) {
      long load = System.nanoTime();
      load(db, topic, payload);
      report.add(
          String.format(
              Locale.ROOT,
              "loaded %d events in %.1f s (%d per transaction)",
              EVENTS,
              (System.nanoTime() - load) / 1e9,
              LOAD_PER_TX));
      System.gc();
      HeapWatch watch = HeapWatch.start();
      long start = System.nanoTime();
      long deadline = start + TIMEOUT * 1_000_000_000L;
      int received = 0;
      long bytes = 0;
      try (KafkaConsumer<byte[], byte[]> consumer = consumer(topic);
          OutboxRelay relay = relay(db)) {
        relay.start();
        while (received < EVENTS && System.nanoTime() < deadline) {
          for (var r : consumer.poll(Duration.ofMillis(50))) {
            received++;
            bytes += r.value().length;
          }
          watch.sample();
        }
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      watch.stop();
      report.add(
          String.format(
              Locale.ROOT,
              "%s: %d of %d events (%.0f MiB) in %.1f s = %.1f events/s, %.1f MiB/s",
              received < EVENTS ? "TIMED OUT" : "drained",
              received,
              EVENTS,
              bytes / (double) (1 << 20),
              seconds,
              received / seconds,
              bytes / (double) (1 << 20) / seconds));
      report.add(watch.toString());
      System.out.println();
      System.out.println("==== LargeEventsBenchmark ====");
      report.forEach(System.out::println);
      if (received < EVENTS) {
        throw new AssertionError(
            "only " + received + " of " + EVENTS + " events arrived in " + TIMEOUT + " s");
      }
    }
  }

  private static void load(TestDatabase db, String topic, byte[] payload) throws Exception {
    OutboxDialect dialect = BenchTables.createOutboxAndRelayTables(db.dataSource());
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    // The outbox refuses payloads over 1,000,000 bytes by default (OutboxDefaults).
    Outbox outbox =
        Outbox.builder()
            .connectionProvider(tx)
            .dialect(dialect)
            .maxPayloadBytes(RECORD_LIMIT)
            .build();
    for (int from = 0; from < EVENTS; from += LOAD_PER_TX) {
      List<OutboxMessage> messages = new ArrayList<>(LOAD_PER_TX);
      for (int i = from; i < Math.min(EVENTS, from + LOAD_PER_TX); i++) {
        messages.add(OutboxMessage.of(topic, "key-" + i % 50, "Large", payload));
      }
      tx.execute(c -> outbox.appendAll(messages));
    }
    try (Connection c = db.dataSource().getConnection()) {
      new PostgresBenchDatabase().afterLoad(c);
    }
  }

  /** The relay with its defaults, but for producer requests large enough for one such record. */
  private OutboxRelay relay(TestDatabase db) {
    return OutboxRelay.builder()
        .dataSource(db.dataSource())
        .meterRegistry(new SimpleMeterRegistry())
        .config(
            RelayConfig.custom()
                .bootstrapServers(kafka.bootstrapServers())
                .producerProperty("max.request.size", String.valueOf(RECORD_LIMIT))
                .build())
        .build();
  }

  /** Reads the whole topic; fetches bounded to a few MiB so that it holds little of the heap. */
  private KafkaConsumer<byte[], byte[]> consumer(String topic) {
    KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers(),
                ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG,
                20,
                ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG,
                RECORD_LIMIT,
                ConsumerConfig.FETCH_MAX_BYTES_CONFIG,
                4 * RECORD_LIMIT,
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG,
                4,
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class));
    List<TopicPartition> partitions = KafkaTopics.partitions(consumer, topic);
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
    partitions.forEach(consumer::position);
    return consumer;
  }

  /**
   * The heap during the drain: the largest heap in use after any collection (from the collectors'
   * notifications: what was still reachable), the largest in use when sampled, and the collections'
   * count and time since {@link #start}.
   */
  private static final class HeapWatch implements NotificationListener {

    private final AtomicLong maxAfterGc = new AtomicLong();
    private final AtomicLong maxUsed = new AtomicLong();
    private final long[] countsBefore;
    private final long[] timesBefore;
    private final List<GarbageCollectorMXBean> collectors =
        ManagementFactory.getGarbageCollectorMXBeans();
    // Metaspace and the code cache are in the collectors' figures too; only the heap counts here.
    private final Set<String> heapPools =
        ManagementFactory.getMemoryPoolMXBeans().stream()
            .filter(pool -> pool.getType() == MemoryType.HEAP)
            .map(MemoryPoolMXBean::getName)
            .collect(Collectors.toSet());
    private long count;
    private long millis;

    private HeapWatch() {
      countsBefore =
          collectors.stream().mapToLong(GarbageCollectorMXBean::getCollectionCount).toArray();
      timesBefore =
          collectors.stream().mapToLong(GarbageCollectorMXBean::getCollectionTime).toArray();
    }

    static HeapWatch start() {
      HeapWatch watch = new HeapWatch();
      for (GarbageCollectorMXBean gc : watch.collectors) {
        ((NotificationEmitter) gc).addNotificationListener(watch, null, null);
      }
      return watch;
    }

    void sample() {
      long used = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
      maxUsed.accumulateAndGet(used, Math::max);
    }

    @Override
    public void handleNotification(Notification notification, Object handback) {
      if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(
          notification.getType())) {
        return;
      }
      GarbageCollectionNotificationInfo info =
          GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData());
      long after =
          info.getGcInfo().getMemoryUsageAfterGc().entrySet().stream()
              .filter(pool -> heapPools.contains(pool.getKey()))
              .mapToLong(pool -> pool.getValue().getUsed())
              .sum();
      maxAfterGc.accumulateAndGet(after, Math::max);
    }

    void stop() throws Exception {
      for (int i = 0; i < collectors.size(); i++) {
        ((NotificationEmitter) collectors.get(i)).removeNotificationListener(this);
        count += collectors.get(i).getCollectionCount() - countsBefore[i];
        millis += collectors.get(i).getCollectionTime() - timesBefore[i];
      }
    }

    @Override
    public String toString() {
      return String.format(
          Locale.ROOT,
          "heap during the drain: max in use after a collection %d MiB, max in use when sampled"
              + " (every 50 ms) %d MiB, of %d MiB; %d collections, %d ms in them (%s)",
          maxAfterGc.get() >> 20,
          maxUsed.get() >> 20,
          Runtime.getRuntime().maxMemory() >> 20,
          count,
          millis,
          collectors.stream().map(GarbageCollectorMXBean::getName).toList());
    }
  }
}
