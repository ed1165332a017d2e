package dev.outboxkit.benchmarks.peers;

import dev.outboxkit.test.DatabaseServer;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestServers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Outbox libraries side by side in one JVM, on one embedded PostgreSQL server (a database each) and
 * one in-JVM broker, on one workload: a backlog of events of 1 KiB over 500 keys, appended in
 * transactions of 100 while draining is paused, then drained to Kafka; a consumer's arrival times
 * are the measurement for all. Passes are interleaved (A B C D, A B C D, …) after a full-size
 * warm-up pass each; then one latency pass each at a steady append rate. Writes the Markdown table
 * and the plots into {@code docs/benchmarks/} (see docs/benchmarks.md):
 *
 * <pre>
 * ./mvnw -B -pl benchmarks -am test -Dtest=PeerBenchmark -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 *
 * System properties: {@code peers.events} (20000), {@code peers.passes} (3), {@code peers.rate}
 * (500 events/s), {@code peers.seconds} (8), {@code peers.contenders}
 * (raw,outboxkit,namastack,gruelbox; also outboxkit-cdc, outboxkit-fenced, handrolled, modulith),
 * {@code peers.report.dir} (../docs/benchmarks).
 */
@ServerTest
class PeerBenchmark {

  private static final int EVENTS = Integer.getInteger("peers.events", 20_000);
  private static final int PASSES = Integer.getInteger("peers.passes", 3);
  private static final int KEYS = 500;
  private static final int PAYLOAD = 1024;
  private static final int PER_TRANSACTION = 100;
  private static final int RATE = Integer.getInteger("peers.rate", 500);
  private static final int SECONDS = Integer.getInteger("peers.seconds", 8);
  private static final Duration PASS_TIMEOUT = Duration.ofSeconds(150);
  private static final List<String> CONTENDERS =
      Arrays.asList(
          System.getProperty("peers.contenders", "raw,outboxkit,namastack,gruelbox").split(","));

  private final KafkaTestBroker kafka = TestServers.kafka();
  private final DatabaseServer postgres = TestServers.postgres();
  private final Map<String, String> failures = new LinkedHashMap<>();

  @Test
  void peersSideBySide() throws Exception {
    List<Contender> contenders = new ArrayList<>();
    try {
      for (String name : CONTENDERS) {
        contenders.add(contender(name));
      }
      Map<String, String> settings = new LinkedHashMap<>();
      contenders.forEach(c -> settings.put(c.name(), c.settings()));
      // A full-size warm-up pass each: with a fifth of the events, every contender still got
      // faster from pass to pass (JIT, pools, the broker's log segments).
      for (Contender c : contenders) {
        pass(c, EVENTS, 0);
      }
      List<PassResult> results = new ArrayList<>();
      for (int pass = 1; pass <= PASSES; pass++) {
        for (Contender c : contenders) {
          if (!failures.containsKey(c.name())) {
            PassResult result = pass(c, EVENTS, pass);
            if (result != null) {
              results.add(result);
            }
          }
        }
      }
      Map<String, LatencyResult> latencies = new LinkedHashMap<>();
      for (Contender c : contenders) {
        if (!failures.containsKey(c.name())) {
          latencies.put(c.name(), latency(c));
        }
      }
      List<String> header =
          List.of(
              String.format(
                  Locale.ROOT,
                  "%,d events of %d B over %d keys, appended in transactions of %d, drained to a"
                      + " topic of 8 partitions; %d interleaved passes after a warm-up pass of %,d"
                      + " each;"
                      + " latency: %d events/s for %d s after 2 s of warm-up.",
                  EVENTS,
                  PAYLOAD,
                  KEYS,
                  PER_TRANSACTION,
                  PASSES,
                  EVENTS,
                  RATE,
                  SECONDS),
              String.format(
                  Locale.ROOT,
                  "One JVM (Java %s, %d cores shared with PostgreSQL, the broker and the consumer),"
                      + " embedded PostgreSQL (a database per contender), in-JVM KRaft broker.",
                  System.getProperty("java.version"),
                  Runtime.getRuntime().availableProcessors()));
      String markdown =
          new PeerReport(
                  Path.of(System.getProperty("peers.report.dir", "../docs/benchmarks")),
                  header,
                  results,
                  latencies,
                  settings,
                  failures,
                  RATE,
                  "OutboxKit polling, defaults",
                  "raw KafkaProducer")
              .write();
      System.out.println();
      System.out.println("==== PeerBenchmark ====");
      System.out.println(markdown);
    } finally {
      for (Contender c : contenders) {
        c.close();
      }
    }
  }

  private Contender contender(String name) throws Exception {
    String topic = "peers-" + name + "-" + UUID.randomUUID().toString().substring(0, 6);
    kafka.createTopic(topic, 8);
    // Also the CDC engine's slot and the fenced relay's transactional id prefix: unique per run.
    String database = "peers_" + name.replace('-', '_') + "_" + System.nanoTime() % 100_000;
    return switch (name) {
      case "raw" -> new RawProducerContender(kafka.bootstrapServers(), topic, PAYLOAD);
      case "outboxkit" ->
          OutboxKitContender.polling(
              postgres.createDatabase(database), kafka.bootstrapServers(), topic, PAYLOAD);
      case "outboxkit-cdc" ->
          OutboxKitContender.cdc(
              postgres.createDatabase(database),
              kafka.bootstrapServers(),
              topic,
              PAYLOAD,
              database);
      case "outboxkit-fenced" ->
          OutboxKitContender.fenced(
              postgres.createDatabase(database),
              kafka.bootstrapServers(),
              topic,
              PAYLOAD,
              database);
      case "handrolled" ->
          OutboxKitContender.handRolled(
              postgres.createDatabase(database), kafka.bootstrapServers(), topic, PAYLOAD);
      case "namastack" ->
          new NamastackContender(
              postgres.createDatabase(database), kafka.bootstrapServers(), topic, PAYLOAD);
      case "modulith" ->
          new ModulithContender(
              postgres.createDatabase(database), kafka.bootstrapServers(), topic, PAYLOAD);
      case "gruelbox" ->
          new GruelboxContender(
              postgres.createDatabase(database), kafka.bootstrapServers(), topic, PAYLOAD);
      default -> throw new IllegalArgumentException("peers.contenders: unknown contender " + name);
    };
  }

  /** One drain pass; null (and the contender left out from then on) when it did not finish. */
  private PassResult pass(Contender c, int events, int pass) {
    long fillStart = System.nanoTime();
    c.fill(events, KEYS, PER_TRANSACTION);
    double appendRate = events * 1e9 / (System.nanoTime() - fillStart);
    try (ArrivalRecorder recorder = new ArrivalRecorder(kafka.bootstrapServers(), c.topic())) {
      long start = System.nanoTime();
      c.resume();
      try {
        long[] arrivals = recorder.awaitArrivals(events, PASS_TIMEOUT);
        PassResult result = new PassResult(c.name(), pass, events, start, arrivals, appendRate);
        System.out.printf(
            Locale.ROOT,
            "[peers] %s pass %d: %,d events drained at %,.0f events/s (first after %.0f ms, all"
                + " after %.2f s); appended at %,.0f events/s; %d repeated event ids%n",
            c.name(),
            pass,
            events,
            result.drainRate(),
            result.firstEventMillis(),
            result.totalSeconds(),
            appendRate,
            recorder.repeats());
        return pass == 0 ? null : result;
      } catch (IllegalStateException e) {
        failures.put(c.name(), "pass " + pass + ": " + e.getMessage());
        System.out.println("[peers] " + c.name() + " left out: " + e.getMessage());
        return null;
      } finally {
        c.pause();
      }
    }
  }

  private LatencyResult latency(Contender c) throws InterruptedException {
    try (ArrivalRecorder recorder = new ArrivalRecorder(kafka.bootstrapServers(), c.topic())) {
      c.resume();
      long start = System.currentTimeMillis();
      long from = start + 2000;
      long until = from + SECONDS * 1000L;
      AtomicInteger sequence = new AtomicInteger();
      AtomicInteger written = new AtomicInteger();
      ScheduledExecutorService writer =
          Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "peers-writer"));
      writer.scheduleAtFixedRate(
          () -> {
            long now = System.currentTimeMillis();
            if (now < until) {
              try {
                c.appendOne("key-" + sequence.getAndIncrement() % KEYS, Payloads.of(now, PAYLOAD));
                if (now >= from) {
                  written.incrementAndGet();
                }
              } catch (RuntimeException e) {
                // Counted (written stays behind) and shown; the writer keeps its rate.
                System.out.println("[peers] " + c.name() + " append failed: " + e);
              }
            }
          },
          0,
          1_000_000L / RATE,
          TimeUnit.MICROSECONDS);
      try {
        List<Long> millis = recorder.latencies(from, until, until + 3000);
        millis.sort(null);
        LatencyResult result = new LatencyResult(c.name(), millis, written.get(), SECONDS);
        System.out.printf(
            Locale.ROOT,
            "[peers] %s latency at %d events/s: p50=%d ms p99=%d ms max=%d ms (%d of %d"
                + " received)%n",
            c.name(),
            RATE,
            result.at(0.5),
            result.at(0.99),
            result.max(),
            millis.size(),
            written.get());
        return result;
      } finally {
        writer.shutdownNow();
        writer.awaitTermination(10, TimeUnit.SECONDS);
        c.pause();
      }
    }
  }
}
