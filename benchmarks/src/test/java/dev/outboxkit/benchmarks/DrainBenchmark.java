package dev.outboxkit.benchmarks;

import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.KafkaTopics;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

/**
 * Drain throughput of a pre-loaded backlog, contenders side by side on the same database (embedded
 * PostgreSQL unless {@code -Dbench.database=mariadb}) and in-JVM broker, measured the same way:
 * from the contender's start until a consumer has received every event. After a warm-up pass of
 * each (a fifth of the events), the contenders run in interleaved passes (A B A B A B); the median
 * and best of each, and each contender's median as a ratio of the first contender's, are printed.
 * See docs/benchmarks.md for the command.
 *
 * <p>System properties: {@code bench.events} (50000), {@code bench.payload} (1024 bytes), {@code
 * bench.keys} (500), {@code bench.partitions} (topic partitions, 8), {@code bench.passes} (3),
 * {@code bench.contenders} (hand-rolled,outboxkit-polling), {@code bench.vacuum} (true), {@code
 * bench.timeout} (seconds per pass, 600), {@code bench.warmup} (events of the warm-up pass, a fifth
 * of {@code bench.events}; 0 for none), {@code bench.hold-snapshot} (false: when true, another
 * session holds a {@code REPEATABLE READ} snapshot taken after the backlog is loaded until the pass
 * ends, so no row deleted during the drain can be vacuumed or its index entries killed); {@code
 * bench.batch} and {@code bench.threads} override OutboxKit's defaults. A pass that times out is
 * reported with the rate of what arrived in time, marked as such, and the rest of its backlog is
 * deleted before the next pass. Contender {@code snapshot-position} is the {@link
 * SnapshotPositionRelay} (no deletes on the hot path). {@code bench.database} (postgresql; also
 * mariadb, where the hand-rolled relay and the polling contenders run but neither {@code
 * snapshot-position} nor {@code bench.hold-snapshot}, and no index statistics are reported).
 */
@ServerTest
class DrainBenchmark {

  private static final int EVENTS = Integer.getInteger("bench.events", 50_000);
  private static final int PAYLOAD = Integer.getInteger("bench.payload", 1024);
  private static final int KEYS = Integer.getInteger("bench.keys", 500);
  private static final int PARTITIONS = Integer.getInteger("bench.partitions", 8);
  private static final int PASSES = Integer.getInteger("bench.passes", 3);
  private static final int TIMEOUT = Integer.getInteger("bench.timeout", 600);
  private static final int WARMUP = Integer.getInteger("bench.warmup", Math.max(1, EVENTS / 5));
  private static final boolean HOLD_SNAPSHOT = Boolean.getBoolean("bench.hold-snapshot");
  private static final BenchDatabase DATABASE =
      BenchDatabase.named(System.getProperty("bench.database", "postgresql"));

  /** The contenders by name; the first named is the one the others are compared with. */
  static final Map<String, DrainContender> KNOWN = new LinkedHashMap<>();

  static {
    for (DrainContender c :
        List.of(
            new HandRolledContender(),
            new OutboxKitPollingContender(),
            new OutboxKitPollingContender(2),
            new OutboxKitPollingContender(4),
            OutboxKitPollingContender.withoutReadFloor(),
            new SnapshotPositionContender())) {
      KNOWN.put(c.name(), c);
    }
  }

  private final KafkaTestBroker kafka = TestServers.kafka();

  @Test
  void drainSideBySide() throws Exception {
    List<DrainContender> contenders = new ArrayList<>();
    for (String name :
        System.getProperty("bench.contenders", "hand-rolled,outboxkit-polling").split(",")) {
      DrainContender c = KNOWN.get(name.trim());
      if (c == null) {
        throw new IllegalArgumentException(
            "Unknown contender '" + name + "'; known: " + KNOWN.keySet());
      }
      contenders.add(c);
    }
    byte[] payload = BenchTables.letters(PAYLOAD);
    List<String> report = new ArrayList<>();
    report.add(
        String.format(
            Locale.ROOT,
            "database=%s events=%d payload=%dB keys=%d partitions=%d passes=%d hold-snapshot=%s"
                + " cores=%d java=%s",
            DATABASE.kind().key(),
            EVENTS,
            PAYLOAD,
            KEYS,
            PARTITIONS,
            PASSES,
            HOLD_SNAPSHOT,
            Runtime.getRuntime().availableProcessors(),
            System.getProperty("java.version")));
    Map<String, List<Double>> rates = new LinkedHashMap<>();
    try (TestDatabase db =
        TestServers.database(DATABASE.kind())
            .createDatabase("drain_" + (System.nanoTime() % 100_000))) {
      for (DrainContender c : contenders) {
        if (WARMUP > 0) {
          double warm = pass(db, c, WARMUP, payload).rate();
          System.out.printf(Locale.ROOT, "warm-up %s: %,.0f events/s%n", c.name(), warm);
        }
      }
      for (int i = 1; i <= PASSES; i++) {
        for (DrainContender c : contenders) {
          Result result = pass(db, c, EVENTS, payload);
          rates.computeIfAbsent(c.name(), k -> new ArrayList<>()).add(result.rate());
          String line =
              String.format(
                  Locale.ROOT, "pass %d %s: %,.0f events/s%s", i, c.name(), result.rate(), result);
          report.add(line);
          System.out.println(line);
        }
      }
    }
    double reference = median(rates.get(contenders.get(0).name()));
    for (Map.Entry<String, List<Double>> e : rates.entrySet()) {
      double median = median(e.getValue());
      report.add(
          String.format(
              Locale.ROOT,
              "%s: median %,.0f events/s, best %,.0f; ratio to %s %.2f",
              e.getKey(),
              median,
              e.getValue().stream().mapToDouble(Double::doubleValue).max().orElse(0),
              contenders.get(0).name(),
              median / reference));
    }
    System.out.println();
    System.out.println("==== DrainBenchmark ====");
    report.forEach(System.out::println);
  }

  private static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(null);
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  /**
   * What one pass measured: events per second (of what arrived in time, when it timed out), and the
   * index scans and index entries read on the outbox table during the drain (PostgreSQL's
   * cumulative statistics, flushed with a delay of up to a second, so approximate; -1 where the
   * database keeps none).
   */
  record Result(double rate, int received, int events, long indexScans, long indexEntries) {
    @Override
    public String toString() {
      String timedOut =
          received < events ? " (TIMED OUT: " + received + " of " + events + " arrived)" : "";
      if (indexScans < 0) {
        return timedOut;
      }
      return String.format(
          Locale.ROOT,
          "%s; index scans %,d, index entries read %,d (%.1f per event)",
          timedOut,
          indexScans,
          indexEntries,
          indexEntries / (double) Math.max(1, received));
    }
  }

  /** One pass: load, start, time until the consumer has every event (or the timeout). */
  private Result pass(TestDatabase db, DrainContender contender, int events, byte[] payload)
      throws Exception {
    String topic = "drain" + UUID.randomUUID().toString().substring(0, 8);
    kafka.createTopic(topic, PARTITIONS);
    DrainContender.Pass pass =
        new DrainContender.Pass(
            db, DATABASE, kafka.bootstrapServers(), topic, events, KEYS, payload);
    contender.prepare(pass);
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(topic);
        HeldSnapshot held = HOLD_SNAPSHOT ? HeldSnapshot.take(db) : null) {
      long[] before = indexStats(db);
      long start = System.nanoTime();
      long last = start;
      long nextReport = start + 10_000_000_000L;
      int received = 0;
      long deadline = start + TIMEOUT * 1_000_000_000L;
      try (AutoCloseable running = contender.start(pass)) {
        while (received < events && System.nanoTime() < deadline) {
          int n = consumer.poll(Duration.ofMillis(20)).count();
          if (n > 0) {
            received += n;
            last = System.nanoTime();
          }
          if (System.nanoTime() > nextReport) {
            System.out.printf(
                Locale.ROOT,
                "  %s t=%ds received %,d%n",
                contender.name(),
                (nextReport - start) / 1_000_000_000L,
                received);
            nextReport += 10_000_000_000L;
          }
        }
      }
      long[] after = indexStats(db);
      if (received < events) {
        last = System.nanoTime();
        try (Connection c = db.dataSource().getConnection();
            Statement s = c.createStatement()) {
          s.execute("DELETE FROM outbox_event"); // what the timed-out contender left
        }
      }
      return new Result(
          received / ((last - start) / 1e9),
          received,
          events,
          after[0] < 0 ? -1 : after[0] - before[0],
          after[1] - before[1]);
    }
  }

  /**
   * Index scans and index entries read on the outbox table so far (all its indexes); {-1, 0} where
   * the database keeps no such statistics.
   */
  private static long[] indexStats(TestDatabase db) throws Exception {
    try (Connection c = db.dataSource().getConnection()) {
      long[] stats = DATABASE.indexStats(c);
      return stats == null ? new long[] {-1, 0} : stats;
    }
  }

  private KafkaConsumer<byte[], byte[]> consumer(String topic) {
    KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers(),
                ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG,
                5,
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG,
                5000,
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
}
