package dev.outboxkit.benchmarks;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.RelaySchema;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.cdc.CdcSchema;
import dev.outboxkit.test.DatabaseKind;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.KafkaTopics;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * Relay throughput and delivery latency next to a raw idempotent producer, in one process, on the
 * in-JVM broker. Run it with (see docs/benchmarks.md):
 *
 * <pre>
 * ./mvnw -pl benchmarks -am test -Dtest=RelayBenchmark -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 *
 * System properties: {@code bench.events} (100000), {@code bench.payload} (1024 bytes), {@code
 * bench.keys} (1000), {@code bench.databases} (postgresql,mariadb), {@code bench.rate} (1000/s),
 * {@code bench.seconds} (20), {@code bench.batch} (the relay default).
 */
@ServerTest
class RelayBenchmark {

  private static final int EVENTS = Integer.getInteger("bench.events", 100_000);
  private static final int PAYLOAD = Integer.getInteger("bench.payload", 1024);
  private static final int KEYS = Integer.getInteger("bench.keys", 1000);
  private static final int RATE = Integer.getInteger("bench.rate", 1000);
  private static final int SECONDS = Integer.getInteger("bench.seconds", 20);
  private static final int BATCH = Integer.getInteger("bench.batch", RelayDefaults.BATCH_SIZE);
  private static final int THREADS =
      Integer.getInteger("bench.threads", RelayDefaults.PUBLISH_THREADS);
  private static final List<String> DATABASES =
      Arrays.asList(System.getProperty("bench.databases", "postgresql,mariadb").split(","));
  private static final List<String> MODES =
      Arrays.asList(System.getProperty("bench.modes", "polling,cdc").split(","));

  private final KafkaTestBroker kafka = TestServers.kafka();
  private final byte[] payload = payload();
  private final List<String> report = new ArrayList<>();
  private double raw;

  private static byte[] payload() {
    byte[] bytes = new byte[PAYLOAD];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) ('a' + i % 26);
    }
    return bytes;
  }

  @Test
  void relayNextToRawProducer() throws Exception {
    line(
        "events=%d payload=%dB keys=%d batch=%d threads=%d cores=%d java=%s",
        EVENTS,
        PAYLOAD,
        KEYS,
        BATCH,
        THREADS,
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"));
    // The baseline is measured first, warm (best of three): after heavy relay runs the in-JVM
    // broker sometimes stalls an idempotent producer for minutes (OutOfOrderSequenceException,
    // full buffer), which would flatter the relay.
    if (Boolean.parseBoolean(System.getProperty("bench.raw", "true"))) {
      double first = rawProducer();
      raw = Math.max(first, Math.max(rawProducer(), rawProducer()));
      line("raw idempotent producer: %,.0f events/s (best of 3; first, cold: %,.0f)", raw, first);
    } else {
      // -Dbench.raw=false: comparing relay modes with each other only (ratios to raw are NaN).
      raw = Double.NaN;
      line("raw idempotent producer: not measured (-Dbench.raw=false)");
    }
    for (String name : DATABASES) {
      DatabaseKind kind =
          name.equals("postgresql") ? DatabaseKind.POSTGRESQL : DatabaseKind.MARIADB;
      try (TestDatabase db =
          TestServers.database(kind)
              .createDatabase("bench_" + name + "_" + (System.nanoTime() % 10000))) {
        for (String mode : MODES) {
          String engine = "bench_" + mode + "_" + System.nanoTime() % 100_000;
          try {
            throughput(name, db, mode, engine);
            latency(name, db, mode, engine + "_lat");
          } finally {
            dropSlots(db, engine);
          }
        }
      }
    }
    System.out.println();
    System.out.println("==== RelayBenchmark ====");
    report.forEach(System.out::println);
  }

  private void line(String format, Object... args) {
    String text = String.format(Locale.ROOT, format, args);
    report.add(text);
    System.out.println(text);
  }

  private double rawProducer() throws InterruptedException {
    String topic = "raw" + UUID.randomUUID().toString().substring(0, 8);
    kafka.createTopic(topic, 8);
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers(),
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
                true,
                ProducerConfig.ACKS_CONFIG,
                "all",
                ProducerConfig.LINGER_MS_CONFIG,
                5,
                ProducerConfig.BATCH_SIZE_CONFIG,
                256 * 1024,
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
                ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
                ByteArraySerializer.class))) {
      // Wait until every partition has a leader, so no send waits for metadata.
      while (producer.partitionsFor(topic).stream().anyMatch(p -> p.leader() == null)) {
        Thread.sleep(10);
      }
      java.util.concurrent.atomic.AtomicInteger failed =
          new java.util.concurrent.atomic.AtomicInteger();
      long start = System.nanoTime();
      for (int i = 0; i < EVENTS; i++) {
        ProducerRecord<byte[], byte[]> record =
            new ProducerRecord<>(
                topic, ("key-" + i % KEYS).getBytes(StandardCharsets.UTF_8), payload);
        record
            .headers()
            .add("outbox-event-id", UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8));
        record.headers().add("outbox-event-type", "Bench".getBytes(StandardCharsets.UTF_8));
        record.headers().add("outbox-aggregate-type", topic.getBytes(StandardCharsets.UTF_8));
        producer.send(
            record,
            (metadata, error) -> {
              if (error != null) {
                failed.incrementAndGet();
              }
            });
      }
      producer.flush();
      // Only acknowledged records count. On the in-JVM broker an idempotent producer sometimes
      // sees OutOfOrderSequenceException under load; those records are reported, not counted.
      double elapsed = seconds(start);
      double rate = (EVENTS - failed.get()) / elapsed;
      System.out.printf(
          Locale.ROOT,
          "raw producer: %d events in %.2f s, %d failed%n",
          EVENTS,
          elapsed,
          failed.get());
      return rate;
    }
  }

  private static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  private static void dropSlots(TestDatabase db, String prefix) throws Exception {
    try (Connection c = db.dataSource().getConnection();
        java.sql.Statement s = c.createStatement()) {
      if (OutboxDialect.detect(c).name().equals("postgresql")) {
        s.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE"
                + " slot_name LIKE '"
                + prefix
                + "%' AND NOT active");
      }
    }
  }

  private Outbox setUp(TestDatabase db, JdbcTransactions tx, Runnable... commitListeners)
      throws Exception {
    OutboxDialect dialect;
    try (Connection c = db.dataSource().getConnection()) {
      dialect = OutboxDialect.detect(c);
      OutboxSchema.create(c, dialect, OutboxTable.DEFAULT);
      CdcSchema.create(c, dialect, OutboxTable.of(RelayDefaults.CDC_STATE_TABLE));
      RelaySchema.create(
          c,
          dialect,
          OutboxTable.DEFAULT,
          OutboxTable.of(RelayDefaults.LEASE_TABLE),
          OutboxTable.of(RelayDefaults.MEMBER_TABLE));
    }
    Outbox.Builder builder = Outbox.builder().connectionProvider(tx).dialect(dialect);
    for (Runnable listener : commitListeners) {
      builder.commitListener(listener);
    }
    return builder.build();
  }

  private OutboxRelay relay(
      TestDatabase db, SimpleMeterRegistry registry, String mode, String engine) {
    return OutboxRelay.builder()
        .dataSource(db.dataSource())
        .bootstrapServers(kafka.bootstrapServers())
        .batchSize(BATCH)
        .publishThreads(THREADS)
        .meterRegistry(registry)
        .transactionalFencing(mode.equals("polling-fenced") ? "outboxkit-" + engine : null)
        .cdc(
            mode.equals("cdc")
                ? CdcOptions.builder(db.jdbcUrl(), db.username(), db.password())
                    .name(engine)
                    .autoCreate(true)
                    .heartbeatInterval(Duration.ofSeconds(1))
                    .build()
                : null)
        .build();
  }

  private void fill(JdbcTransactions tx, Outbox outbox, String topic, int events) {
    for (int from = 0; from < events; from += 1000) {
      List<OutboxMessage> messages = new ArrayList<>(1000);
      for (int i = from; i < Math.min(events, from + 1000); i++) {
        messages.add(OutboxMessage.of(topic, "key-" + i % KEYS, "Bench", payload));
      }
      tx.execute(c -> outbox.appendAll(messages));
    }
  }

  private void drain(
      TestDatabase db, SimpleMeterRegistry registry, int events, String mode, String engine)
      throws InterruptedException {
    long start = System.nanoTime();
    try (OutboxRelay relay = relay(db, registry, mode, engine)) {
      relay.start();
      while (registry.find("outbox.events.published").counter() == null
          || registry.get("outbox.events.published").counter().count() < events) {
        Thread.sleep(5);
        if (seconds(start) > 600) {
          throw new IllegalStateException("relay did not drain in 10 minutes");
        }
      }
    }
  }

  private void throughput(String name, TestDatabase db, String mode, String engine)
      throws Exception {
    String topic = "bench" + UUID.randomUUID().toString().substring(0, 8);
    kafka.createTopic(topic, 8);
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = setUp(db, tx);
    // Warm the relay's code as the raw producer's is warmed: drain a fifth of the events first.
    // CDC: the warm-up run also creates the slot and stores a position, so the measured run reads
    // the backlog from the log (streaming), as the polling relay reads it from the table.
    fill(tx, outbox, topic, EVENTS / 5);
    drain(db, new SimpleMeterRegistry(), EVENTS / 5, mode, engine);
    long fill = System.nanoTime();
    fill(tx, outbox, topic, EVENTS);
    line(
        "%s: appended %d events in %.1f s (%,.0f events/s, appendAll of 1000)",
        name, EVENTS, seconds(fill), EVENTS / seconds(fill));
    long start = System.nanoTime();
    drain(db, new SimpleMeterRegistry(), EVENTS, mode, engine);
    double rate = EVENTS / seconds(start);
    line(
        "%s %s: relay drained %d events in %.1f s = %,.0f events/s (start-up included); raw"
            + " producer in the same run %,.0f events/s; ratio %.0f %%",
        name, mode, EVENTS, EVENTS / rate, rate, raw, 100 * rate / raw);
  }

  private static long at(List<Long> sorted, double q) {
    return sorted.isEmpty()
        ? -1
        : sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(q * sorted.size()) - 1));
  }

  /** A consumer at the end of every partition of the topic, fetching with little delay. */
  private KafkaConsumer<byte[], byte[]> consumer(String topic) {
    KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers(),
                ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG,
                5,
                // What a consumer of a fenced relay must use; the same for every mode.
                ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                "read_committed",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class));
    // Not partitionsFor itself: right after creation it may answer with no partitions.
    List<TopicPartition> partitions = KafkaTopics.partitions(consumer, topic);
    consumer.assign(partitions);
    consumer.seekToEnd(partitions);
    partitions.forEach(consumer::position);
    return consumer;
  }

  private void latency(String name, TestDatabase db, String mode, String engine) throws Exception {
    String topic = "lat" + UUID.randomUUID().toString().substring(0, 8);
    kafka.createTopic(topic, 8);
    boolean notify = OutboxDialect.named(name).supportsListenNotify();
    OutboxRelay[] current = new OutboxRelay[1];
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox =
        notify
            ? setUp(db, tx)
            : setUp(
                db,
                tx,
                () -> {
                  if (current[0] != null) {
                    current[0].wakeUp();
                  }
                });
    ScheduledExecutorService writer = Executors.newSingleThreadScheduledExecutor();
    long periodMicros = 1_000_000L / RATE;
    int[] n = new int[1];
    writer.scheduleAtFixedRate(
        () ->
            tx.execute(
                c ->
                    outbox.append(
                        OutboxMessage.of(topic, "key-" + n[0]++ % KEYS, "Bench", payload))),
        0,
        periodMicros,
        TimeUnit.MICROSECONDS);
    try {
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      try (OutboxRelay relay = relay(db, registry, mode, engine);
          KafkaConsumer<byte[], byte[]> consumer = consumer(topic)) {
        current[0] = relay;
        relay.start();
        // Warm-up inside the same relay (a CDC engine takes a second or more to start streaming);
        // then a consumer measures append -> received for the events appended after it.
        Thread.sleep(5000);
        long from = System.currentTimeMillis();
        int before = n[0];
        List<Long> millis = new ArrayList<>();
        long until = System.nanoTime() + SECONDS * 1_000_000_000L;
        while (System.nanoTime() < until) {
          for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(50))) {
            if (r.timestamp() >= from) {
              millis.add(System.currentTimeMillis() - r.timestamp());
            }
          }
        }
        int written = n[0] - before;
        millis.sort(null);
        line(
            "%s %s: latency at %,d events/s for %d s after a 5 s warm-up (%s): %d received, %.0f"
                + " events/s written; append -> consumer p50=%d ms p95=%d ms p99=%d ms max=%d ms",
            name,
            mode,
            RATE,
            SECONDS,
            mode.equals("cdc")
                ? "streaming the change log"
                : notify ? "LISTEN/NOTIFY wake-up" : "in-process commit signal wake-up",
            millis.size(),
            written / (double) SECONDS,
            at(millis, 0.50),
            at(millis, 0.95),
            at(millis, 0.99),
            millis.isEmpty() ? -1 : millis.get(millis.size() - 1));
      }
    } finally {
      writer.shutdownNow();
      writer.awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
