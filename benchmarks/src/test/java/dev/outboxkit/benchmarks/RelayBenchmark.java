package dev.outboxkit.benchmarks;

import dev.outboxkit.benchmarks.peers.Producers;
import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.RelayConfig;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.cdc.CdcSchema;
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
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
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
 * bench.keys} (1000), {@code bench.databases} (postgresql,mariadb; also mysql), {@code bench.rate}
 * (1000/s), {@code bench.seconds} (20), {@code bench.batch} (the relay default), {@code
 * bench.modes} (polling,cdc; also cdc-before, cdc-1thread, cdc-nolsnflush, cdc-pollN,
 * polling-fenced, polling-fenced-unscaled, and any mode with the suffix -asynccommit, whose latency
 * writer commits with synchronous_commit=off on PostgreSQL, or -stages, whose latency pass times
 * the relay's reads and deletes, and for CDC Debezium's reader and pool ({@link CdcStages}) and the
 * offsets statement ({@code bench.stages=true} times them in every mode), or -signal, whose latency
 * writer also wakes the relay in-process on PostgreSQL). {@code bench.writers} (1): above 1, the
 * latency pass uses an {@link OpenLoopWriter} of that many threads, each transaction writing the
 * events that are due, at most {@code bench.perTx} (1), and reports latency from each event's due
 * time and from its commit to the consumer's arrival (for rates one thread cannot write, e.g.
 * 10,000/s).
 */
@ServerTest
class RelayBenchmark {

  private static final int EVENTS = Integer.getInteger("bench.events", 100_000);
  private static final int PAYLOAD = Integer.getInteger("bench.payload", 1024);
  private static final int KEYS = Integer.getInteger("bench.keys", 1000);
  private static final int RATE = Integer.getInteger("bench.rate", 1000);
  private static final int SECONDS = Integer.getInteger("bench.seconds", 20);
  private static final int BATCH = Integer.getInteger("bench.batch", RelayDefaults.BATCH_SIZE);
  // -Dbench.fencedBatch: the batch of the polling-fenced mode only (default: bench.batch).
  private static final int FENCED_BATCH = Integer.getInteger("bench.fencedBatch", BATCH);
  private static final int THREADS =
      Integer.getInteger("bench.threads", RelayDefaults.PUBLISH_THREADS);
  private static final int WRITERS = Integer.getInteger("bench.writers", 1);
  private static final int PER_TX = Integer.getInteger("bench.perTx", 1);
  private static final List<String> DATABASES =
      Arrays.asList(System.getProperty("bench.databases", "postgresql,mariadb").split(","));
  private static final List<String> MODES =
      Arrays.asList(System.getProperty("bench.modes", "polling,cdc").split(","));

  // The mode "handrolled": the latency passes with HandRolledRelay (the limit) instead of
  // OutboxKit,
  // on the same writer, table, broker and consumer; no throughput pass (DrainBenchmark has it).
  private static final String HAND_ROLLED = "handrolled";

  // A mode suffix: the latency pass's writer commits with synchronous_commit=off (PostgreSQL).
  private static final String ASYNC_COMMIT = "-asynccommit";

  // A mode suffix (polling-stages): the latency pass times the relay's reads and deletes
  // (TimedDataSource); interleaved with the plain mode, whose figures carry no proxy.
  private static final String STAGES = "-stages";

  // A mode suffix (polling-signal): on PostgreSQL the latency writer's commits also wake the relay
  // in-process (Outbox commit listener -> OutboxRelay.wakeUp), as when writer and relay share a
  // JVM, besides LISTEN/NOTIFY: tells the NOTIFY's delivery from the relay's cycle.
  private static final String SIGNAL = "-signal";

  private final KafkaTestBroker kafka = TestServers.kafka();
  private final byte[] payload = payload();
  private final List<String> report = new ArrayList<>();
  // Per "database mode": each pass's drain rate and latency p50 / p95 / p99, for the medians.
  private final Map<String, List<double[]>> passes = new java.util.LinkedHashMap<>();
  private double raw;

  private static byte[] payload() {
    return BenchTables.letters(PAYLOAD);
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
      BenchDatabase database = BenchDatabase.named(name);
      try (TestDatabase db =
          TestServers.database(database.kind())
              .createDatabase("bench_" + name + "_" + (System.nanoTime() % 10000))) {
        for (String mode : MODES) {
          String engine = "bench_" + mode.replace('-', '_') + "_" + System.nanoTime() % 100_000;
          try {
            throughput(name, db, mode, engine);
            latency(name, db, mode, engine + "_lat");
          } finally {
            try (Connection c = db.dataSource().getConnection()) {
              database.dropCdcLeftovers(c, engine);
            }
          }
        }
      }
    }
    medians();
    System.out.println();
    System.out.println("==== RelayBenchmark ====");
    report.forEach(System.out::println);
  }

  /**
   * {@code -Dbench.idle=true -Dtest=RelayBenchmark#idleCpu}: the CPU a started relay spends with
   * nothing to publish, per mode of {@code bench.modes}, over {@code bench.seconds} after a 5 s
   * start: the busiest threads of the JVM (ThreadMXBean; the in-JVM broker shares it) and the
   * process's CPU time. Each mode's relay runs alone, on an empty outbox.
   */
  @Test
  @org.junit.jupiter.api.condition.EnabledIfSystemProperty(named = "bench.idle", matches = "true")
  void idleCpu() throws Exception {
    java.lang.management.ThreadMXBean threads =
        java.lang.management.ManagementFactory.getThreadMXBean();
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean)
            java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    for (String name : DATABASES) {
      BenchDatabase database = BenchDatabase.named(name);
      try (TestDatabase db =
          TestServers.database(database.kind())
              .createDatabase("idle_" + name + "_" + (System.nanoTime() % 10000))) {
        setUp(db, JdbcTransactions.of(db.dataSource()));
        for (String mode : MODES) {
          String engine = "idle_" + mode.replace('-', '_') + "_" + System.nanoTime() % 100_000;
          try (OutboxRelay relay = relay(db, new SimpleMeterRegistry(), mode, engine)) {
            relay.start();
            Thread.sleep(5000);
            Map<Long, Long> before = threadCpu(threads);
            long processBefore = os.getProcessCpuTime();
            long start = System.nanoTime();
            Thread.sleep(SECONDS * 1000L);
            long wall = System.nanoTime() - start;
            double process = (os.getProcessCpuTime() - processBefore) * 100.0 / wall;
            Map<Long, Long> after = threadCpu(threads);
            List<String> busiest =
                after.entrySet().stream()
                    .map(
                        e ->
                            Map.entry(
                                e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0L)))
                    .sorted(Map.Entry.<Long, Long>comparingByValue().reversed())
                    .limit(6)
                    .map(
                        e -> {
                          java.lang.management.ThreadInfo info = threads.getThreadInfo(e.getKey());
                          return String.format(
                              Locale.ROOT,
                              "%s %.1f %%",
                              info == null ? "(ended)" : info.getThreadName(),
                              e.getValue() * 100.0 / wall);
                        })
                    .toList();
            line(
                "%s %s idle for %d s: process CPU %.1f %% of one core; busiest threads: %s",
                name, mode, SECONDS, process, String.join(", ", busiest));
          } finally {
            try (Connection c = db.dataSource().getConnection()) {
              database.dropCdcLeftovers(c, engine);
            }
          }
        }
      }
    }
    System.out.println();
    System.out.println("==== RelayBenchmark idle ====");
    report.forEach(System.out::println);
  }

  private static Map<Long, Long> threadCpu(java.lang.management.ThreadMXBean threads) {
    Map<Long, Long> cpu = new java.util.HashMap<>();
    for (long id : threads.getAllThreadIds()) {
      long nanos = threads.getThreadCpuTime(id);
      if (nanos >= 0) {
        cpu.put(id, nanos);
      }
    }
    return cpu;
  }

  private double[] pass(String name, String mode) {
    List<double[]> of = passes.computeIfAbsent(name + " " + mode, k -> new ArrayList<>());
    if (of.isEmpty() || of.get(of.size() - 1)[1] >= 0) {
      of.add(new double[] {-1, -1, -1, -1, -1, -1, -1, -1, -1});
    }
    return of.get(of.size() - 1);
  }

  private static double median(List<double[]> of, int column) {
    double[] values = of.stream().mapToDouble(v -> v[column]).sorted().toArray();
    int n = values.length;
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  }

  /**
   * The median of each mode's passes, and each mode's drain as a ratio to the first mode's (with
   * modes interleaved, A B A B..., the ratio inside one run is the figure to read on a noisy host).
   */
  private void medians() {
    for (String name : DATABASES) {
      double first = Double.NaN;
      double firstStreaming = Double.NaN;
      for (String mode : new java.util.LinkedHashSet<>(MODES)) {
        List<double[]> of = passes.getOrDefault(name + " " + mode, List.of());
        if (of.isEmpty()) {
          continue;
        }
        double drain = median(of, 0);
        double streaming = median(of, 4);
        if (Double.isNaN(first)) {
          first = drain;
          firstStreaming = streaming;
        }
        line(
            "median of %d: %s %s drain %,.0f events/s (%.2f of %s); after the first event %,.0f"
                + " events/s (%.2f); latency p50 %.1f / p95 %.1f / p99 %.1f ms; drains %s%s",
            of.size(),
            name,
            mode,
            drain,
            drain / first,
            MODES.get(0),
            streaming,
            streaming / firstStreaming,
            median(of, 1),
            median(of, 2),
            median(of, 3),
            of.stream().map(v -> String.format(Locale.ROOT, "%,.0f", v[0])).toList(),
            median(of, 5) < 0
                ? ""
                : String.format(
                    Locale.ROOT,
                    "; record timestamp -> consumer p50 %.1f / p99 %.1f ms; append -> broker ack"
                        + " p50 %.1f / p99 %.1f ms; commit -> consumer p50/p99 per pass %s",
                    median(of, 5),
                    median(of, 6),
                    median(of, 7),
                    median(of, 8),
                    of.stream()
                        .map(v -> String.format(Locale.ROOT, "%.1f/%.1f", v[1], v[3]))
                        .toList()));
      }
    }
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
        Producers.withByteKeys(kafka.bootstrapServers())) {
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

  private static String wakeUp(String name, String mode) {
    if (mode.startsWith("cdc")) {
      return "streaming the change log";
    }
    if (mode.startsWith(HAND_ROLLED)) {
      return "hand-rolled relay, a poll every 10 ms while it finds nothing";
    }
    if (!OutboxDialect.named(name).supportsListenNotify()) {
      return "in-process commit signal wake-up";
    }
    return mode.contains(SIGNAL)
        ? "LISTEN/NOTIFY and in-process commit signal wake-up"
        : "LISTEN/NOTIFY wake-up";
  }

  /**
   * The outbox of a latency window: where the database has no LISTEN/NOTIFY, or the mode has the
   * suffix -signal, each commit wakes the relay then in {@code current[0]} (the in-process signal
   * of a writer and relay in one JVM); with -signal on PostgreSQL the relay still LISTENs as well.
   */
  private Outbox latencyOutbox(
      String name, TestDatabase db, JdbcTransactions tx, OutboxRelay[] current, String mode)
      throws Exception {
    if (OutboxDialect.named(name).supportsListenNotify() && !mode.contains(SIGNAL)) {
      return setUp(db, tx);
    }
    return setUp(
        db,
        tx,
        () -> {
          if (current[0] != null) {
            current[0].wakeUp();
          }
        });
  }

  private Outbox setUp(TestDatabase db, JdbcTransactions tx, Runnable... commitListeners)
      throws Exception {
    OutboxDialect dialect = BenchTables.createOutboxAndRelayTables(db.dataSource());
    try (Connection c = db.dataSource().getConnection()) {
      CdcSchema.create(c, dialect, OutboxTable.of(RelayDefaults.CDC_STATE_TABLE));
    }
    Outbox.Builder builder = Outbox.builder().connectionProvider(tx).dialect(dialect);
    for (Runnable listener : commitListeners) {
      builder.commitListener(listener);
    }
    return builder.build();
  }

  private OutboxRelay relay(
      TestDatabase db, SimpleMeterRegistry registry, String pass, String engine) {
    return relay(db, db.dataSource(), registry, pass, engine, Map.of());
  }

  /**
   * The relay of a pass on {@code dataSource} (the database's pool, or the pool timed by {@link
   * TimedDataSource}), with {@code extra} producer properties (the latency pass's interceptor).
   */
  private OutboxRelay relay(
      TestDatabase db,
      javax.sql.DataSource dataSource,
      SimpleMeterRegistry registry,
      String pass,
      String engine,
      Map<String, Object> extra) {
    // "cdc-asynccommit" is "cdc" with the latency writer's commits asynchronous (see latency).
    String mode = pass;
    // A mode suffix -threads<N> (before any other suffix): N fixed publishing threads (N other than
    // the default 1) instead of bench.threads, to compare thread counts in one run.
    java.util.regex.Matcher fixed = java.util.regex.Pattern.compile("-threads(\\d+)").matcher(mode);
    int threads = fixed.find() ? Integer.parseInt(fixed.group(1)) : THREADS;
    mode = mode.replaceAll("-threads\\d+", "");
    for (String suffix : List.of(STAGES, SIGNAL, ASYNC_COMMIT)) {
      mode = mode.endsWith(suffix) ? mode.substring(0, mode.length() - suffix.length()) : mode;
    }
    RelayConfig.Builder config = RelayConfig.custom();
    producerProperties().forEach(config::producerProperty);
    extra.forEach(config::producerProperty);
    config
        .bootstrapServers(kafka.bootstrapServers())
        // polling-fenced-unscaled: a fenced batch as large as before the relay read 4 x the batch
        // size with fencing (PollingRelay.batchEvents), for a before/after in one run.
        .batchSize(
            mode.equals("polling-fenced-unscaled")
                ? Math.max(1, BATCH / 4)
                : mode.startsWith("polling-fenced") ? FENCED_BATCH : BATCH)
        .transactionalFencing(
            mode.startsWith("polling-fenced") ? RelayModes.fencingPrefix(engine) : null);
    if (mode.startsWith("cdc")) {
      // A timed pool (stagedRelay with -stages): Debezium's own stages are timed too (CdcStages).
      config.cdc(cdcOptions(db, engine, mode, dataSource != db.dataSource()));
    } else {
      config.polling(RelayConfig.Polling.ofDefaults().withPublishThreads(threads));
    }
    return OutboxRelay.builder()
        .dataSource(dataSource)
        .meterRegistry(registry)
        .config(config.build())
        .build();
  }

  /**
   * The started relay of a latency pass: {@link HandRolledRelay} for the mode {@value #HAND_ROLLED}
   * (it polls every 10 ms when it finds nothing, and has no stage interceptor), else OutboxKit's
   * relay, also put in {@code current[0]} for the in-process wake-up.
   */
  private AutoCloseable started(
      String name,
      TestDatabase db,
      javax.sql.DataSource dataSource,
      SimpleMeterRegistry registry,
      String mode,
      String engine,
      Map<String, Object> extra,
      OutboxRelay[] current) {
    if (mode.startsWith(HAND_ROLLED)) {
      return RelayModes.startHandRolled(dataSource, db.kind(), kafka.bootstrapServers());
    }
    OutboxRelay relay = relay(db, dataSource, registry, mode, engine, extra);
    current[0] = relay;
    relay.start();
    return relay;
  }

  /**
   * The started relay of a latency pass with its stages recorded: hand-over and acknowledgement
   * through {@link StageInterceptor}, and when {@code timed} reads and deletes through {@link
   * TimedDataSource}.
   */
  private AutoCloseable stagedRelay(
      String name,
      TestDatabase db,
      SimpleMeterRegistry registry,
      String mode,
      String engine,
      boolean timed,
      OutboxRelay[] current) {
    return started(
        name,
        db,
        timed ? TimedDataSource.wrap(db.dataSource()) : db.dataSource(),
        registry,
        mode,
        engine,
        Map.of("interceptor.classes", StageInterceptor.class.getName()),
        current);
  }

  /** {@code -Dbench.producer.<property>=<value>} adds a producer property (every mode). */
  private static Map<String, Object> producerProperties() {
    String prefix = "bench.producer.";
    Map<String, Object> properties = new java.util.HashMap<>();
    System.getProperties().stringPropertyNames().stream()
        .filter(name -> name.startsWith(prefix))
        .forEach(name -> properties.put(name.substring(prefix.length()), System.getProperty(name)));
    return properties;
  }

  /** The CDC options; {@code -Dbench.debezium.<property>=<value>} adds an engine property. */
  private static CdcOptions cdcOptions(TestDatabase db, String engine, String mode, boolean timed) {
    CdcOptions.Builder options = RelayModes.cdc(db, engine);
    if (mode.equals("cdc-1thread")) {
      // The engine's pool that hands every record over and back (Debezium's
      // ParallelSmtAndConvertBatchProcessor) with one thread instead of one per core.
      options.debeziumProperty("record.processing.threads", "1");
    }
    java.util.regex.Matcher poll = java.util.regex.Pattern.compile("-poll(\\d+)$").matcher(mode);
    if (poll.find()) {
      // cdc-poll<N>: Debezium's poll.interval.ms = N instead of the relay's 1 ms (the queue's wait
      // for a partial batch, and the reader's sleep when the stream is idle).
      options.debeziumProperty("poll.interval.ms", poll.group(1));
    }
    if (mode.equals("cdc-nolsnflush")) {
      // Diagnostic only, never a setting for production: Debezium does not confirm the LSN to the
      // server after each offsets commit (flush.lsn.source=false; the slot's WAL is then kept
      // until the slot is dropped), which takes the commit's LSN flush, a status update written
      // on the replication connection under the lock its reader holds while it waits for data,
      // out of every batch's cycle.
      options.debeziumProperty("flush.lsn.source", "false");
    }
    if (mode.equals("cdc-before")) {
      // cdc-before: the engine as configured before 2026-12-06, for a before/after in one run: a
      // publication of every operation (so the relay's deletes are streamed too), no operation
      // skipped in the connector, a 10 ms poll interval.
      try (Connection c = db.dataSource().getConnection();
          java.sql.Statement s = c.createStatement()) {
        // Created once per database, never dropped: a slot decodes with the publication as it
        // was when the change was written.
        s.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname ="
                + " 'bench_all_ops') THEN CREATE PUBLICATION bench_all_ops FOR TABLE"
                + " public.outbox_event; END IF; END $$");
      } catch (java.sql.SQLException e) {
        throw new IllegalStateException(e);
      }
      options
          .publication("bench_all_ops")
          .debeziumProperty("skipped.operations", "t")
          .debeziumProperty("poll.interval.ms", "10");
    }
    if (timed) {
      CdcStages.debeziumProperties().forEach(options::debeziumProperty);
    }
    String prefix = "bench.debezium.";
    System.getProperties().stringPropertyNames().stream()
        .filter(name -> name.startsWith(prefix))
        .forEach(
            name ->
                options.debeziumProperty(
                    name.substring(prefix.length()), System.getProperty(name)));
    return options.build();
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

  /**
   * Drains; returns when the first and the last event were seen published (System.nanoTime()), so
   * that the relay's close (an engine stop for CDC) is not counted as draining.
   */
  private long[] drain(
      TestDatabase db, SimpleMeterRegistry registry, int events, String mode, String engine)
      throws InterruptedException {
    long start = System.nanoTime();
    try (OutboxRelay relay = relay(db, registry, mode, engine)) {
      relay.start();
      long first = awaitPublished(registry, events, start);
      return new long[] {first, System.nanoTime()};
    }
  }

  /** Waits for the count; returns when the first published event was seen (System.nanoTime()). */
  private static long awaitPublished(SimpleMeterRegistry registry, int events, long start)
      throws InterruptedException {
    long first = -1;
    while (true) {
      io.micrometer.core.instrument.Counter published =
          registry.find("outbox.events.published").counter();
      double count = published == null ? 0 : published.count();
      if (count > 0 && first < 0) {
        first = System.nanoTime();
      }
      if (count >= events) {
        return first;
      }
      Thread.sleep(5);
      if (seconds(start) > 600) {
        throw new IllegalStateException("relay did not drain in 10 minutes");
      }
    }
  }

  private void throughput(String name, TestDatabase db, String mode, String engine)
      throws Exception {
    if (mode.startsWith(HAND_ROLLED)) {
      // Its drain is DrainBenchmark's; here it is the latency limit (see started).
      return;
    }
    String topic = "bench" + UUID.randomUUID().toString().substring(0, 8);
    kafka.createTopic(topic, 8);
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = setUp(db, tx);
    // Warm the relay's code as the raw producer's is warmed: drain a fifth of the events first.
    // CDC: the warm-up run also creates the slot and stores a position, so the measured run reads
    // the backlog from the log (streaming), as the polling relay reads it from the table.
    fill(tx, outbox, topic, EVENTS / 5);
    SimpleMeterRegistry warm = new SimpleMeterRegistry();
    try (OutboxRelay relay = relay(db, warm, mode, engine)) {
      relay.start();
      awaitPublished(warm, EVENTS / 5, System.nanoTime());
      // CDC: that backlog came through the initial snapshot. One event appended now comes from
      // the log, so the position stored is a streaming one: a position stored in the middle of
      // the snapshot would make the measured run snapshot the table again instead of streaming.
      fill(tx, outbox, topic, 1);
      awaitPublished(warm, EVENTS / 5 + 1, System.nanoTime());
    }
    long fill = System.nanoTime();
    fill(tx, outbox, topic, EVENTS);
    line(
        "%s: appended %d events in %.1f s (%,.0f events/s, appendAll of 1000)",
        name, EVENTS, seconds(fill), EVENTS / seconds(fill));
    long start = System.nanoTime();
    long[] seen = drain(db, new SimpleMeterRegistry(), EVENTS, mode, engine);
    long first = seen[0];
    long last = seen[1];
    // From the relay's start to the last event seen published (sampled every 5 ms; the close is
    // not counted); and from the first event to the last: the drain without the relay's start-up,
    // a large share of a short drain for CDC (the engine connects and opens its replication
    // stream) and almost none for polling.
    double rate = EVENTS / ((last - start) / 1e9);
    double streaming = EVENTS / ((last - first) / 1e9);
    pass(name, mode)[0] = rate;
    pass(name, mode)[4] = streaming;
    line(
        "%s %s: relay drained %d events in %.2f s = %,.0f events/s (start-up included; %.2f s"
            + " to the first event, then %,.0f events/s); raw producer in the same run %,.0f"
            + " events/s; ratio %.0f %%",
        name,
        mode,
        EVENTS,
        EVENTS / rate,
        rate,
        (first - start) / 1e9,
        streaming,
        raw,
        100 * rate / raw);
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

  /**
   * One writer commits one event per transaction at {@code bench.rate}; after a 5 s warm-up, the
   * events written in the next {@code bench.seconds} are the window, and each is followed from its
   * append to the consumer on one clock ({@link LatencyStages}): the headline is commit → consumer,
   * beside append → consumer, the record timestamp → consumer (what this pass measured before, on
   * the millisecond clock), the relay's own append → acknowledgement per event (the producer
   * interceptor) and its {@code outbox.delivery.latency} timer. With {@code -Dbench.stages=true}
   * the relay's reads and deletes are timed too ({@link TimedDataSource}).
   */
  private void latency(String name, TestDatabase db, String mode, String engine) throws Exception {
    if (WRITERS > 1) {
      openLoopLatency(name, db, mode, engine);
      return;
    }
    String topic = "lat" + UUID.randomUUID().toString().substring(0, 8);
    kafka.createTopic(topic, 8);
    OutboxRelay[] current = new OutboxRelay[1];
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = latencyOutbox(name, db, tx, current, mode);
    int capacity = RATE * (SECONDS + 60);
    LatencyStages stages = new LatencyStages(topic, PAYLOAD, capacity);
    LatencyStages.current = stages;
    NotifyTimes notifies =
        OutboxDialect.named(name).supportsListenNotify() && !mode.startsWith("cdc")
            ? new NotifyTimes(
                db.dataSource(), OutboxTable.DEFAULT.name().toLowerCase(Locale.ROOT), stages)
            : null;
    ScheduledExecutorService writer = Executors.newSingleThreadScheduledExecutor();
    long periodMicros = 1_000_000L / RATE;
    java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger failed =
        new java.util.concurrent.atomic.AtomicInteger();
    // PostgreSQL: the writer's commits flush their WAL (synchronous_commit=on, the server default
    // and what docs/relay.md asks for) unless the mode ends in -asynccommit. The shared test server
    // runs with synchronous_commit=off, where a commit's WAL waits for the WAL writer (up to
    // wal_writer_delay, 10 ms there) before a logical decoder may read it: a delay of the server
    // that only CDC sees, not the relay's.
    String commit = BenchDatabase.named(name).commitDurability(mode.endsWith(ASYNC_COMMIT));
    writer.scheduleAtFixedRate(
        () -> {
          int i = n.get();
          if (i >= capacity) {
            return;
          }
          byte[] value = LatencyStages.payload(payload, i);
          try {
            tx.execute(
                c -> {
                  if (commit != null) {
                    try (java.sql.Statement s = c.createStatement()) {
                      s.execute(commit);
                    }
                  }
                  stages.appended(i, System.nanoTime());
                  outbox.append(OutboxMessage.of(topic, "key-" + i % KEYS, "Bench", value));
                });
            stages.committed(i, System.nanoTime());
          } catch (RuntimeException e) {
            // A task that throws would end the schedule silently.
            failed.incrementAndGet();
          }
          n.incrementAndGet();
        },
        0,
        periodMicros,
        TimeUnit.MICROSECONDS);
    boolean timed = Boolean.getBoolean("bench.stages") || mode.endsWith(STAGES);
    try {
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      try (AutoCloseable relay = stagedRelay(name, db, registry, mode, engine, timed, current);
          KafkaConsumer<byte[], byte[]> consumer = consumer(topic)) {
        // Warm-up inside the same relay (a CDC engine takes a second or more to start streaming);
        // then the events written during the next SECONDS are the window.
        long warmUntil = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < warmUntil) {
          receive(consumer, stages);
        }
        int before = n.get();
        long windowStart = System.nanoTime();
        long until = windowStart + SECONDS * 1_000_000_000L;
        while (System.nanoTime() < until) {
          receive(consumer, stages);
        }
        int after = Math.min(n.get(), capacity);
        long windowEnd = System.nanoTime();
        // Then until every event of the window arrived (at most 10 s more): the window's last
        // events count like the others.
        long drainUntil = windowEnd + 10_000_000_000L;
        int next = before;
        while (System.nanoTime() < drainUntil) {
          while (next < after && stages.hasArrived(next)) {
            next++;
          }
          if (next == after) {
            break;
          }
          receive(consumer, stages);
        }
        long[] micros = stages.commitToConsumerMicros(before, after);
        double[] pass = pass(name, mode);
        pass[1] = micro(micros, 0.50) / 1000.0;
        pass[2] = micro(micros, 0.95) / 1000.0;
        pass[3] = micro(micros, 0.99) / 1000.0;
        long[] former = stages.timestampToConsumerMicros(before, after);
        pass[5] = micro(former, 0.50) / 1000.0;
        pass[6] = micro(former, 0.99) / 1000.0;
        long[] acks = stages.appendToAckMicros(before, after);
        pass[7] = micro(acks, 0.50) / 1000.0;
        pass[8] = micro(acks, 0.99) / 1000.0;
        line(
            "%s %s: latency at %,d events/s for %d s after a 5 s warm-up (%s%s): %d written, %d"
                + " failed transactions; commit -> consumer p50=%.1f p95=%.1f p99=%.1f max=%.1f ms",
            name,
            mode,
            RATE,
            SECONDS,
            wakeUp(name, mode),
            timed ? "; relay's reads and deletes timed" : "",
            after - before,
            failed.get(),
            pass[1],
            pass[2],
            pass[3],
            micro(micros, 1.0) / 1000.0);
        for (String stage : stages.report(before, after, windowStart, windowEnd)) {
          line("%s", stage);
        }
        // The relay's own append -> broker acknowledgement: its percentiles decay over a window of
        // minutes, so they include the warm-up (bucketed estimates, not exact).
        io.micrometer.core.instrument.Timer acked =
            registry.find("outbox.delivery.latency").timer();
        if (acked != null) {
          StringBuilder ack = new StringBuilder();
          for (io.micrometer.core.instrument.distribution.ValueAtPercentile v :
              acked.takeSnapshot().percentileValues()) {
            ack.append(
                String.format(
                    Locale.ROOT,
                    " p%.0f=%.1f ms",
                    v.percentile() * 100,
                    v.value(TimeUnit.NANOSECONDS) / 1_000_000.0));
          }
          line(
              "  %s %s: outbox.delivery.latency timer (append -> broker ack, warm-up included):%s",
              name, mode, ack);
        }
      }
    } finally {
      writer.shutdownNow();
      writer.awaitTermination(5, TimeUnit.SECONDS);
      if (notifies != null) {
        notifies.close();
      }
      LatencyStages.current = null;
    }
  }

  /** One poll of the latency consumer, each record's arrival recorded. */
  private static void receive(KafkaConsumer<byte[], byte[]> consumer, LatencyStages stages) {
    var records = consumer.poll(Duration.ofMillis(50));
    long nanos = System.nanoTime();
    long millis = System.currentTimeMillis();
    for (ConsumerRecord<byte[], byte[]> r : records) {
      stages.arrived(r.value(), r.partition(), r.offset(), r.timestamp(), nanos, millis);
    }
  }

  private static long micro(long[] sorted, double q) {
    return sorted.length == 0
        ? -1
        : sorted[Math.min(sorted.length - 1, Math.max(0, (int) Math.ceil(q * sorted.length) - 1))];
  }

  /**
   * Latency with an {@link OpenLoopWriter}: the events due in the {@code bench.seconds} after a 5 s
   * warm-up are measured from their due time and from their commit to the consumer's arrival (one
   * clock, System.nanoTime()); an event not received 10 s after the window counts as later than
   * every received one.
   */
  private void openLoopLatency(String name, TestDatabase db, String mode, String engine)
      throws Exception {
    String topic = "lat" + UUID.randomUUID().toString().substring(0, 8);
    kafka.createTopic(topic, 8);
    OutboxRelay[] current = new OutboxRelay[1];
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = latencyOutbox(name, db, tx, current, mode);
    String commit = BenchDatabase.named(name).commitDurability(mode.endsWith(ASYNC_COMMIT));
    int warmup = 5;
    int capacity = RATE * (warmup + SECONDS);
    long[] arrived = new long[capacity];
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    // The relay's stages as in the one-writer pass: hand-over and acknowledgement always (the
    // interceptor), reads and deletes with -stages (the timed pool).
    LatencyStages stages = new LatencyStages(topic, PAYLOAD, capacity);
    LatencyStages.current = stages;
    boolean timed = Boolean.getBoolean("bench.stages") || mode.endsWith(STAGES);
    BenchDatabase database = BenchDatabase.named(name);
    long[] workBefore;
    try (Connection c = db.dataSource().getConnection()) {
      workBefore = database.backgroundWork(c);
    }
    try (AutoCloseable relay = stagedRelay(name, db, registry, mode, engine, timed, current);
        KafkaConsumer<byte[], byte[]> consumer = consumer(topic)) {
      OpenLoopWriter writer =
          new OpenLoopWriter(
              RATE,
              WRITERS,
              PER_TX,
              capacity,
              payload,
              (first, payloads) ->
                  tx.execute(
                      c -> {
                        if (commit != null) {
                          try (java.sql.Statement s = c.createStatement()) {
                            s.execute(commit);
                          }
                        }
                        List<OutboxMessage> messages = new ArrayList<>(payloads.size());
                        for (int i = 0; i < payloads.size(); i++) {
                          messages.add(
                              OutboxMessage.of(
                                  topic, "key-" + (first + i) % KEYS, "Bench", payloads.get(i)));
                        }
                        if (messages.size() == 1) {
                          outbox.append(messages.get(0));
                        } else {
                          outbox.appendAll(messages);
                        }
                      }));
      int from = RATE * warmup;
      long windowEnd = writer.dueNanos(capacity);
      int pending = capacity - from;
      try {
        long until = windowEnd + 10_000_000_000L;
        while (pending > 0 && System.nanoTime() < until) {
          var records = consumer.poll(Duration.ofMillis(20));
          long polled = System.nanoTime();
          long millis = System.currentTimeMillis();
          for (ConsumerRecord<byte[], byte[]> r : records) {
            stages.arrived(r.value(), r.partition(), r.offset(), r.timestamp(), polled, millis);
            long now = System.nanoTime();
            int index = (int) OpenLoopWriter.index(r.value());
            if (index < capacity && arrived[index] == 0) {
              arrived[index] = now;
              if (index >= from) {
                pending--;
              }
            }
          }
        }
      } finally {
        writer.close();
        LatencyStages.current = null;
      }
      List<Long> fromDue = new ArrayList<>();
      List<Long> fromCommit = new ArrayList<>();
      int late = 0;
      for (int i = from; i < capacity; i++) {
        if (arrived[i] == 0) {
          late++;
          continue;
        }
        fromDue.add((arrived[i] - writer.dueNanos(i)) / 1000);
        long committed = writer.committedNanos(i);
        fromCommit.add(committed == 0 ? 0 : Math.max(0, arrived[i] - committed) / 1000);
      }
      for (int i = 0; i < late; i++) {
        fromDue.add(Long.MAX_VALUE);
        fromCommit.add(Long.MAX_VALUE);
      }
      line(
          "%s %s: commit -> consumer max per 500 ms of due time (ms): %s",
          name, mode, maxPerWindow(writer, arrived, from, capacity, RATE / 2));
      try (Connection c = db.dataSource().getConnection()) {
        long[] workAfter = database.backgroundWork(c);
        StringBuilder work = new StringBuilder();
        for (int i = 0; i < workAfter.length; i++) {
          work.append(i == 0 ? "" : ", ")
              .append(workAfter[i] - workBefore[i])
              .append(' ')
              .append(database.backgroundWorkNames().get(i));
        }
        line("%s %s: the server's background work during the pass: %s", name, mode, work);
      }
      for (int i = from; i < capacity; i++) {
        // "append" is the due time here: the open-loop writer notes no start of its append.
        stages.appended(i, writer.dueNanos(i));
        stages.committed(i, writer.committedNanos(i));
      }
      for (String stage : stages.report(from, capacity, writer.dueNanos(from), windowEnd)) {
        line("%s", stage);
      }
      io.micrometer.core.instrument.DistributionSummary batches =
          registry.find("outbox.relay.batch.size").summary();
      io.micrometer.core.instrument.Gauge threads =
          registry.find("outbox.relay.publish.threads").gauge();
      if (batches != null) {
        line(
            "%s %s: relay batches over the pass (warm-up included): %d, mean %.0f, max %.0f"
                + " events; publishing threads reading at the end: %s",
            name,
            mode,
            batches.count(),
            batches.mean(),
            batches.max(),
            threads == null ? "n/a" : String.format(Locale.ROOT, "%.0f", threads.value()));
      }
      fromDue.sort(null);
      fromCommit.sort(null);
      double[] pass = pass(name, mode);
      pass[1] = at(fromCommit, 0.50) / 1000.0;
      pass[2] = at(fromCommit, 0.95) / 1000.0;
      pass[3] = at(fromCommit, 0.99) / 1000.0;
      line(
          "%s %s: open-loop latency at %,d events/s (%d writers, up to %d events per transaction)"
              + " for %d s after a %d s warm-up (%s): %d of %d due received, %d not within 10 s"
              + " after the window, %d failed transactions; commit -> consumer p50=%.1f p95=%.1f"
              + " p99=%.1f max=%.1f ms; due -> consumer p50=%.1f p95=%.1f p99=%.1f max=%.1f ms",
          name,
          mode,
          RATE,
          WRITERS,
          PER_TX,
          SECONDS,
          warmup,
          wakeUp(name, mode),
          capacity - from - late,
          capacity - from,
          late,
          writer.failures(),
          millis(at(fromCommit, 0.50)),
          millis(at(fromCommit, 0.95)),
          millis(at(fromCommit, 0.99)),
          millis(fromCommit.isEmpty() ? -1 : fromCommit.get(fromCommit.size() - 1)),
          millis(at(fromDue, 0.50)),
          millis(at(fromDue, 0.95)),
          millis(at(fromDue, 0.99)),
          millis(fromDue.isEmpty() ? -1 : fromDue.get(fromDue.size() - 1)));
    }
  }

  /**
   * The window's commit -> consumer maximum in each run of {@code per} consecutive events (by due
   * time), in ms: whether the tail is a few stalls or spread over the window.
   */
  private static String maxPerWindow(
      OpenLoopWriter writer, long[] arrived, int from, int capacity, int per) {
    StringBuilder out = new StringBuilder();
    for (int start = from; start < capacity; start += per) {
      long max = 0;
      for (int i = start; i < Math.min(capacity, start + per); i++) {
        long committed = writer.committedNanos(i);
        long latency = arrived[i] == 0 ? Long.MAX_VALUE : arrived[i] - committed;
        max = committed == 0 ? max : Math.max(max, latency);
      }
      out.append(max == Long.MAX_VALUE ? "inf" : String.valueOf(max / 1_000_000)).append(' ');
    }
    return out.toString().trim();
  }

  /** Microseconds as milliseconds; "later than every received event" as infinity. */
  private static double millis(long micros) {
    return micros == Long.MAX_VALUE ? Double.POSITIVE_INFINITY : micros / 1000.0;
  }
}
