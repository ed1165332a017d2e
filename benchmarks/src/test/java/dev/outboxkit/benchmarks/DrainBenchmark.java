package dev.outboxkit.benchmarks;

import dev.outboxkit.test.DatabaseKind;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.KafkaTopics;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
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
 * Drain throughput of a pre-loaded backlog, contenders side by side on the same embedded PostgreSQL
 * and in-JVM broker, measured the same way: from the contender's start until a consumer has
 * received every event. After a warm-up pass of each (a fifth of the events), the contenders run in
 * interleaved passes (A B A B A B); the median and best of each, and each contender's median as a
 * ratio of the first contender's, are printed. See docs/benchmarks.md for the command.
 *
 * <p>System properties: {@code bench.events} (50000), {@code bench.payload} (1024 bytes), {@code
 * bench.keys} (500), {@code bench.partitions} (topic partitions, 8), {@code bench.passes} (3),
 * {@code bench.contenders} (hand-rolled,outboxkit-polling), {@code bench.vacuum} (true), {@code
 * bench.timeout} (seconds per pass, 600); {@code bench.batch} and {@code bench.threads} override
 * OutboxKit's defaults.
 */
@ServerTest
class DrainBenchmark {

  private static final int EVENTS = Integer.getInteger("bench.events", 50_000);
  private static final int PAYLOAD = Integer.getInteger("bench.payload", 1024);
  private static final int KEYS = Integer.getInteger("bench.keys", 500);
  private static final int PARTITIONS = Integer.getInteger("bench.partitions", 8);
  private static final int PASSES = Integer.getInteger("bench.passes", 3);
  private static final int TIMEOUT = Integer.getInteger("bench.timeout", 600);

  /** The contenders by name; the first named is the one the others are compared with. */
  static final Map<String, DrainContender> KNOWN = new LinkedHashMap<>();

  static {
    for (DrainContender c :
        List.of(
            new HandRolledContender(),
            new OutboxKitPollingContender(),
            new OutboxKitPollingContender(2),
            new OutboxKitPollingContender(4))) {
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
    byte[] payload = new byte[PAYLOAD];
    for (int i = 0; i < payload.length; i++) {
      payload[i] = (byte) ('a' + i % 26);
    }
    List<String> report = new ArrayList<>();
    report.add(
        String.format(
            Locale.ROOT,
            "events=%d payload=%dB keys=%d partitions=%d passes=%d cores=%d java=%s",
            EVENTS,
            PAYLOAD,
            KEYS,
            PARTITIONS,
            PASSES,
            Runtime.getRuntime().availableProcessors(),
            System.getProperty("java.version")));
    Map<String, List<Double>> rates = new LinkedHashMap<>();
    try (TestDatabase db =
        TestServers.database(DatabaseKind.POSTGRESQL)
            .createDatabase("drain_" + (System.nanoTime() % 100_000))) {
      for (DrainContender c : contenders) {
        double warm = pass(db, c, Math.max(1, EVENTS / 5), payload);
        System.out.printf(Locale.ROOT, "warm-up %s: %,.0f events/s%n", c.name(), warm);
      }
      for (int i = 1; i <= PASSES; i++) {
        for (DrainContender c : contenders) {
          double rate = pass(db, c, EVENTS, payload);
          rates.computeIfAbsent(c.name(), k -> new ArrayList<>()).add(rate);
          String line = String.format(Locale.ROOT, "pass %d %s: %,.0f events/s", i, c.name(), rate);
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

  /** One pass: load, start, time until the consumer has every event; events per second. */
  private double pass(TestDatabase db, DrainContender contender, int events, byte[] payload)
      throws Exception {
    String topic = "drain" + UUID.randomUUID().toString().substring(0, 8);
    kafka.createTopic(topic, PARTITIONS);
    DrainContender.Pass pass =
        new DrainContender.Pass(db, kafka.bootstrapServers(), topic, events, KEYS, payload);
    contender.prepare(pass);
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(topic)) {
      long start = System.nanoTime();
      long last = start;
      int received = 0;
      long deadline = start + TIMEOUT * 1_000_000_000L;
      try (AutoCloseable running = contender.start(pass)) {
        while (received < events) {
          int n = consumer.poll(Duration.ofMillis(20)).count();
          if (n > 0) {
            received += n;
            last = System.nanoTime();
          }
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException(
                contender.name() + " delivered " + received + " of " + events + " in time");
          }
        }
      }
      return events / ((last - start) / 1e9);
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
