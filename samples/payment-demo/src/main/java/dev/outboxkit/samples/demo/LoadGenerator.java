package dev.outboxkit.samples.demo;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Sends payments at a given rate, with client retries that reuse their {@code Idempotency-Key},
 * captures and refunds, optionally kills the relay with SIGKILL mid-way and starts another, then
 * audits the ledger: every accepted payment booked exactly once per step, the ledger balanced,
 * nothing left in the outbox. Exits with 1 when the audit fails.
 *
 * <pre>
 * ./mvnw -pl samples/payment-demo -am compile spring-boot:run \
 *   -Dspring-boot.run.main-class=dev.outboxkit.samples.demo.LoadGenerator \
 *   -Dspring-boot.run.arguments="--payments=2000 --rate=200 --restart-relay"
 * </pre>
 *
 * Options: {@code --payments=N} (1000), {@code --rate=per second} (100), {@code --duplicates=share
 * of requests sent twice with the same key} (0.2), {@code --captures=share} (0.8), {@code
 * --refunds=share of captured} (0.1), {@code --restart-relay} (run the relay in its own JVM and
 * kill -9 it half-way), {@code --redeliver=N} (re-send N published records, as a relay killed
 * between the broker's ack and its bookkeeping would), {@code --concurrency=N} (32), {@code
 * --timeout=seconds} (120). With {@code --payment-url=} and {@code --ledger-url=} (and {@code
 * --kafka=}) it drives running services instead of starting its own.
 */
public final class LoadGenerator {

  /** What to send. */
  public record Options(
      int payments,
      double rate,
      double duplicates,
      double captures,
      double refunds,
      boolean restartRelay,
      int redeliver,
      int concurrency,
      Duration timeout,
      @Nullable String paymentUrl,
      @Nullable String ledgerUrl,
      @Nullable String kafka) {

    public static Options parse(String... args) {
      Map<String, String> o = new HashMap<>();
      for (String arg : args) {
        if (!arg.startsWith("--")) {
          throw new IllegalArgumentException(
              "Unknown argument " + arg + "; options are --name=value");
        }
        int eq = arg.indexOf('=');
        o.put(
            eq < 0 ? arg.substring(2) : arg.substring(2, eq),
            eq < 0 ? "true" : arg.substring(eq + 1));
      }
      Options options =
          new Options(
              Integer.parseInt(o.getOrDefault("payments", "1000")),
              Double.parseDouble(o.getOrDefault("rate", "100")),
              share(o, "duplicates", "0.2"),
              share(o, "captures", "0.8"),
              share(o, "refunds", "0.1"),
              Boolean.parseBoolean(o.getOrDefault("restart-relay", "false")),
              Integer.parseInt(o.getOrDefault("redeliver", "0")),
              Integer.parseInt(o.getOrDefault("concurrency", "32")),
              Duration.ofSeconds(Long.parseLong(o.getOrDefault("timeout", "120"))),
              o.get("payment-url"),
              o.get("ledger-url"),
              o.get("kafka"));
      if (options.payments() < 1 || options.rate() <= 0 || options.concurrency() < 1) {
        throw new IllegalArgumentException("--payments, --rate and --concurrency must be positive");
      }
      if ((options.paymentUrl() == null) != (options.ledgerUrl() == null)) {
        throw new IllegalArgumentException("Give both --payment-url and --ledger-url, or neither");
      }
      if (options.paymentUrl() != null && options.restartRelay()) {
        throw new IllegalArgumentException(
            "--restart-relay needs the relay started by the load generator: drop --payment-url");
      }
      return options;
    }

    private static double share(Map<String, String> o, String name, String fallback) {
      double value = Double.parseDouble(o.getOrDefault(name, fallback));
      if (value < 0 || value > 1) {
        throw new IllegalArgumentException("--" + name + " must be between 0 and 1: " + value);
      }
      return value;
    }
  }

  /** What happened, and the audit. {@link #ok()} is the exit status. */
  public record Report(
      Map<String, Object> figures,
      List<String> relayEvents,
      List<String> violations,
      Map<String, Object> latencyMillis) {

    public boolean ok() {
      return violations.isEmpty();
    }

    public long figure(String name) {
      return ((Number) figures.get(name)).longValue();
    }
  }

  /** What the load generator knows about one payment it created. */
  private static final class Expected {
    volatile boolean captured;
    volatile boolean refunded;
  }

  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final Options options;
  private final String paymentUrl;
  private final String ledgerUrl;
  private final @Nullable String kafka;
  private final @Nullable DemoStack stack;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String runId = Long.toString(System.currentTimeMillis(), 36);
  private final Map<String, Expected> accepted = new ConcurrentHashMap<>();
  private final AtomicLong requests = new AtomicLong();
  private final AtomicLong completed = new AtomicLong();
  private final AtomicLong replays = new AtomicLong();
  private final AtomicLong retries = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private final List<String> violations = java.util.Collections.synchronizedList(new ArrayList<>());

  private LoadGenerator(Options options, @Nullable DemoStack stack) {
    this.options = options;
    this.stack = stack;
    this.paymentUrl = stack != null ? stack.paymentUrl() : options.paymentUrl();
    this.ledgerUrl = stack != null ? stack.ledgerUrl() : options.ledgerUrl();
    this.kafka = stack != null ? stack.settings().kafka() : options.kafka();
  }

  public static void main(String[] args) throws Exception {
    Options options = Options.parse(args);
    Report report;
    if (options.paymentUrl() != null) {
      report = new LoadGenerator(options, null).run();
    } else {
      try (DemoStack stack =
          DemoStack.start(DemoStack.Settings.fromEnvironment(!options.restartRelay(), true))) {
        report = run(options, stack);
      }
    }
    print(report);
    System.exit(report.ok() ? 0 : 1);
  }

  /** Runs against a stack started by the caller (the end-to-end test does this). */
  public static Report run(Options options, DemoStack stack) throws Exception {
    return new LoadGenerator(options, stack).run();
  }

  private Report run() throws Exception {
    // Where this run's records begin: the topic may hold records of another stack on the same
    // broker (two test classes in one JVM), which this ledger never booked; re-sending those
    // would book them instead of testing the inbox.
    Map<TopicPartition, Long> runStart = kafka != null ? endOffsets() : Map.of();
    long started = System.nanoTime();
    AtomicReference<RelayProcess> relay = new AtomicReference<>();
    List<String> relayEvents = new ArrayList<>();
    if (options.restartRelay()) {
      RelayProcess first = RelayProcess.start(stack.settings(), "relay-1");
      first.awaitStarted(Duration.ofSeconds(60));
      relay.set(first);
    }
    Thread restarter = null;
    if (options.restartRelay()) {
      restarter = new Thread(() -> restartRelay(relay, relayEvents), "restart-relay");
      restarter.setDaemon(true);
      restarter.start();
    }
    ExecutorService pool = Executors.newFixedThreadPool(options.concurrency());
    try {
      long intervalNanos = (long) (1e9 / options.rate());
      for (int i = 0; i < options.payments(); i++) {
        long due = started + i * intervalNanos;
        long wait = due - System.nanoTime();
        if (wait > 0) {
          TimeUnit.NANOSECONDS.sleep(wait);
        }
        int n = i;
        pool.execute(() -> onePayment(n));
      }
      pool.shutdown();
      if (!pool.awaitTermination(options.timeout().toSeconds(), TimeUnit.SECONDS)) {
        violations.add("Requests still running after " + options.timeout());
      }
      if (restarter != null) {
        restarter.join(options.timeout().toMillis());
      }
      double sendSeconds = (System.nanoTime() - started) / 1e9;

      long expectedEntries =
          accepted.values().stream()
              .mapToLong(e -> 1 + (e.captured ? 1 : 0) + (e.refunded ? 1 : 0))
              .sum();
      awaitBookings();
      long outboxLeft = awaitOutboxEmpty();
      JsonNode summary = get(ledgerUrl + "/ledger/summary");
      long redelivered = 0;
      if (options.redeliver() > 0 && kafka != null) {
        double skippedBefore = summary.get("duplicatesSkipped").asDouble();
        redelivered = redeliver(options.redeliver(), runStart);
        summary = awaitDuplicatesSkipped(skippedBefore + redelivered);
        double skippedNow = summary.get("duplicatesSkipped").asDouble() - skippedBefore;
        if (skippedNow < redelivered) {
          violations.add(
              "Re-sent "
                  + redelivered
                  + " records of this run, and the inbox skipped "
                  + (long) skippedNow
                  + " of them within "
                  + options.timeout());
        }
      }
      return report(summary, expectedEntries, outboxLeft, redelivered, sendSeconds, relayEvents);
    } finally {
      pool.shutdownNow();
      if (restarter != null) {
        restarter.interrupt();
      }
      RelayProcess last = relay.get();
      if (last != null) {
        last.close();
      }
    }
  }

  private void onePayment(int n) {
    try {
      paymentFlow(n);
    } finally {
      completed.incrementAndGet();
    }
  }

  private void paymentFlow(int n) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    String body =
        String.format(
            Locale.ROOT,
            "{\"payer\":\"payer-%d\",\"merchant\":\"merchant-%d\",\"amountMinor\":%d,\"currency\":\"EUR\"}",
            random.nextInt(100),
            random.nextInt(20),
            100 + random.nextInt(100_000));
    JsonNode payment = post("/payments", "pay-" + runId + "-" + n, body, 201);
    if (payment == null) {
      return;
    }
    String id = payment.get("id").asString();
    Expected expected = new Expected();
    accepted.put(id, expected);
    if (random.nextDouble() < options.captures()) {
      if (post("/payments/" + id + "/capture", "cap-" + runId + "-" + n, "", 200) != null) {
        expected.captured = true;
        if (random.nextDouble() < options.refunds()
            && post("/payments/" + id + "/refund", "ref-" + runId + "-" + n, "", 200) != null) {
          expected.refunded = true;
        }
      }
    }
  }

  /**
   * POSTs with an idempotency key; retries with the same key on network errors, 5xx and 409 (the
   * first request still in flight), as a careful client does; sends the request a second time with
   * the same key for the configured share, and checks that the answer is the same replayed.
   */
  private @Nullable JsonNode post(String path, String key, String body, int expectedStatus) {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(paymentUrl + path))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", key)
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    HttpResponse<String> first = send(request);
    if (first == null) {
      return null;
    }
    if (first.statusCode() != expectedStatus) {
      refused.incrementAndGet();
      violations.add("POST " + path + " answered " + first.statusCode() + ": " + first.body());
      return null;
    }
    if (ThreadLocalRandom.current().nextDouble() < options.duplicates()) {
      HttpResponse<String> again = send(request);
      if (again != null) {
        boolean replayed =
            again.headers().firstValue("Idempotent-Replayed").orElse("").equals("true");
        if (!replayed || !again.body().equals(first.body())) {
          violations.add(
              "Retry of POST " + path + " with the same key was not a replay: " + again.body());
        } else {
          replays.incrementAndGet();
        }
      }
    }
    return JSON.readTree(first.body());
  }

  private @Nullable HttpResponse<String> send(HttpRequest request) {
    for (int attempt = 1; ; attempt++) {
      requests.incrementAndGet();
      try {
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        if ((response.statusCode() < 500 && response.statusCode() != 409) || attempt == 5) {
          return response;
        }
      } catch (IOException e) {
        if (attempt == 5) {
          violations.add("POST " + request.uri() + " failed 5 times: " + e);
          return null;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      }
      retries.incrementAndGet();
      try {
        Thread.sleep(200L * attempt);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      }
    }
  }

  /** Kills the relay once half of the payments were answered, and starts another one. */
  private void restartRelay(AtomicReference<RelayProcess> relay, List<String> events) {
    try {
      while (completed.get() < options.payments() / 2) {
        Thread.sleep(20);
      }
      RelayProcess killed = relay.get();
      killed.kill();
      events.add("relay-1 (pid " + killed.pid() + ") killed with SIGKILL half-way");
      RelayProcess next = RelayProcess.start(stack.settings(), "relay-2");
      relay.set(next);
      next.awaitStarted(Duration.ofSeconds(60));
      events.add("relay-2 (pid " + next.pid() + ") started and took over the partitions");
    } catch (Exception e) {
      violations.add("Relay restart failed: " + e);
    }
  }

  /** Waits until the ledger has booked every step of every accepted payment, or the timeout. */
  private void awaitBookings() throws Exception {
    long deadline = System.nanoTime() + options.timeout().toNanos();
    while (System.nanoTime() < deadline && !allBooked(bookings())) {
      Thread.sleep(250);
    }
  }

  private boolean allBooked(Map<String, int[]> booked) {
    for (Map.Entry<String, Expected> e : accepted.entrySet()) {
      int[] counts = booked.getOrDefault(e.getKey(), new int[3]);
      if (counts[0] < 1
          || counts[1] < (e.getValue().captured ? 1 : 0)
          || counts[2] < (e.getValue().refunded ? 1 : 0)) {
        return false;
      }
    }
    return true;
  }

  /** Entries per accepted-or-not payment id: {authorized, captured, refunded}. */
  private Map<String, int[]> bookings() throws Exception {
    Map<String, int[]> booked = new HashMap<>();
    for (JsonNode b : get(ledgerUrl + "/ledger/payments")) {
      booked.put(
          b.get("paymentId").asString(),
          new int[] {
            b.get("authorized").asInt(), b.get("captured").asInt(), b.get("refunded").asInt()
          });
    }
    return booked;
  }

  private JsonNode awaitDuplicatesSkipped(double skipped) throws Exception {
    long deadline = System.nanoTime() + options.timeout().toNanos();
    JsonNode summary = get(ledgerUrl + "/ledger/summary");
    while (System.nanoTime() < deadline && summary.get("duplicatesSkipped").asDouble() < skipped) {
      Thread.sleep(250);
      summary = get(ledgerUrl + "/ledger/summary");
    }
    return summary;
  }

  /** Waits until the relay has published everything; -1 when the outbox is not reachable. */
  private long awaitOutboxEmpty() throws InterruptedException {
    if (stack == null) {
      return -1;
    }
    JdbcTemplate jdbc = new JdbcTemplate(stack.payments().getBean(DataSource.class));
    long deadline = System.nanoTime() + options.timeout().toNanos();
    long left;
    while ((left = jdbc.queryForObject("SELECT COUNT(*) FROM outbox_event", Long.class)) > 0
        && System.nanoTime() < deadline) {
      Thread.sleep(250);
    }
    return left;
  }

  /**
   * Copies the first {@code n} records of this run ({@code runStart}: each partition's end offset
   * when the run began) back onto the payment topic, headers and all.
   */
  private long redeliver(int n, Map<TopicPartition, Long> runStart) {
    Properties consumer = new Properties();
    consumer.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
    consumer.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    consumer.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    Properties producer = new Properties();
    producer.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
    producer.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    producer.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    long sent = 0;
    try (KafkaConsumer<byte[], byte[]> in = new KafkaConsumer<>(consumer);
        KafkaProducer<byte[], byte[]> out = new KafkaProducer<>(producer)) {
      List<TopicPartition> partitions =
          in.partitionsFor("payment").stream()
              .map(p -> new TopicPartition(p.topic(), p.partition()))
              .toList();
      in.assign(partitions);
      for (TopicPartition partition : partitions) {
        in.seek(partition, runStart.getOrDefault(partition, 0L));
      }
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (sent < n && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : in.poll(Duration.ofMillis(500))) {
          if (sent == n) {
            break;
          }
          out.send(
              new ProducerRecord<>(
                  r.topic(), r.partition(), r.timestamp(), r.key(), r.value(), r.headers()));
          sent++;
        }
      }
      out.flush();
    }
    return sent;
  }

  private long recordsOnTopic() throws Exception {
    if (kafka == null) {
      return -1;
    }
    return endOffsets().values().stream().mapToLong(Long::longValue).sum();
  }

  /** The end offset of each partition of the payment topic now. */
  private Map<TopicPartition, Long> endOffsets() throws Exception {
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka))) {
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      admin
          .describeTopics(List.of("payment"))
          .allTopicNames()
          .get()
          .get("payment")
          .partitions()
          .forEach(
              p -> latest.put(new TopicPartition("payment", p.partition()), OffsetSpec.latest()));
      Map<TopicPartition, Long> ends = new HashMap<>();
      admin.listOffsets(latest).all().get().forEach((tp, o) -> ends.put(tp, o.offset()));
      return ends;
    }
  }

  private Report report(
      JsonNode summary,
      long expectedEntries,
      long outboxLeft,
      long redelivered,
      double sendSeconds,
      List<String> relayEvents)
      throws Exception {
    Map<String, int[]> booked = bookings();
    long missing = 0;
    long bookedTwice = 0;
    long wrong = 0;
    for (Map.Entry<String, Expected> e : accepted.entrySet()) {
      int[] counts = booked.getOrDefault(e.getKey(), new int[3]);
      int[] want = {1, e.getValue().captured ? 1 : 0, e.getValue().refunded ? 1 : 0};
      if (counts[0] == 0) {
        missing++;
      } else if (counts[0] > 1 || counts[1] > 1 || counts[2] > 1) {
        bookedTwice++;
      } else if (counts[1] != want[1] || counts[2] != want[2]) {
        wrong++;
      }
    }
    long unknown = booked.keySet().stream().filter(id -> !accepted.containsKey(id)).count();
    if (missing > 0) {
      violations.add(missing + " accepted payments are missing from the ledger");
    }
    if (bookedTwice > 0) {
      violations.add(bookedTwice + " payments were booked more than once");
    }
    if (wrong > 0) {
      violations.add(
          wrong + " payments have a capture or refund booked that did not happen, or lack one");
    }
    if (!summary.get("balanced").asBoolean()) {
      violations.add("The ledger does not balance: " + summary);
    }
    if (outboxLeft > 0) {
      violations.add(outboxLeft + " events are still in the outbox");
    }
    double skipped = summary.get("duplicatesSkipped").asDouble();
    if (skipped < redelivered) {
      violations.add("Re-sent " + redelivered + " records but the inbox skipped only " + skipped);
    }
    long captured = accepted.values().stream().filter(e -> e.captured).count();
    long refunded = accepted.values().stream().filter(e -> e.refunded).count();
    Map<String, Object> figures = new LinkedHashMap<>();
    figures.put("paymentsAccepted", (long) accepted.size());
    figures.put("captured", captured);
    figures.put("refunded", refunded);
    figures.put("httpRequests", requests.get());
    figures.put("clientRetriesReplayed", replays.get());
    figures.put("networkOr5xxRetries", retries.get());
    figures.put("requestsRefused", refused.get());
    figures.put("eventsExpected", expectedEntries);
    figures.put("recordsOnTopic", recordsOnTopic());
    figures.put("recordsRedelivered", redelivered);
    figures.put("ledgerEntries", summary.get("entries").asLong());
    figures.put("inboxDuplicatesSkipped", (long) skipped);
    figures.put("missingFromLedger", missing);
    figures.put("bookedTwice", bookedTwice);
    figures.put("unknownPaymentsInLedger", unknown);
    figures.put("outboxLeft", outboxLeft);
    figures.put("sendSeconds", Math.round(sendSeconds));
    figures.put("balanced", summary.get("balanced").asBoolean() ? 1L : 0L);
    Map<String, Object> latency = new LinkedHashMap<>();
    summary
        .get("latencyMillis")
        .properties()
        .forEach(e -> latency.put(e.getKey(), e.getValue().asLong()));
    return new Report(figures, List.copyOf(relayEvents), List.copyOf(violations), latency);
  }

  private JsonNode get(String url) throws Exception {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
            HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IllegalStateException("GET " + url + " answered " + response.statusCode());
    }
    return JSON.readTree(response.body());
  }

  /** Prints the figures and the verdict. */
  public static void print(Report report) {
    StringBuilder out = new StringBuilder("\n== OutboxKit payment load ==\n");
    report
        .figures()
        .forEach(
            (name, value) -> out.append(String.format(Locale.ROOT, "  %-26s %s%n", name, value)));
    report.relayEvents().forEach(e -> out.append("  relay: ").append(e).append('\n'));
    out.append(
        String.format(
            Locale.ROOT,
            "  %-26s p50 %s ms, p99 %s ms, max %s ms (append -> booked in the ledger)%n",
            "latency",
            report.latencyMillis().get("p50"),
            report.latencyMillis().get("p99"),
            report.latencyMillis().get("max")));
    if (report.ok()) {
      out.append("RESULT: OK - every accepted payment booked exactly once, ledger balanced\n");
    } else {
      out.append("RESULT: FAILED\n");
      report.violations().forEach(v -> out.append("  - ").append(v).append('\n'));
    }
    System.out.println(out);
  }
}
