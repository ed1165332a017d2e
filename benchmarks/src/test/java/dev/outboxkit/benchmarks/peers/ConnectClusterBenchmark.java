package dev.outboxkit.benchmarks.peers;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.utils.Exit;
import org.apache.kafka.connect.cli.ConnectDistributed;
import org.apache.kafka.connect.runtime.Connect;
import org.apache.kafka.connect.runtime.Herder;
import org.apache.kafka.connect.runtime.distributed.DistributedHerder;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorInfo;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.apache.kafka.connect.util.FutureCallback;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The shipped Kafka Connect configuration ({@code deploy/kafka-connect/outbox-connector-postgres
 * .json}: Debezium's PostgreSQL connector with OutboxKit's {@code OutboxRecordRouter}) on a
 * two-worker distributed-mode Connect cluster in this JVM. Measures the drain of a backlog (the
 * connector paused while it is appended, then resumed), then stops the worker that runs the task
 * while events are appended at a steady rate, and checks that the task moves to the other worker
 * with nothing lost (duplicates allowed: at-least-once). Writes {@code connect-cluster.md} next to
 * the peer report:
 *
 * <pre>
 * ./mvnw -B -pl benchmarks -am test -Dtest=ConnectClusterBenchmark -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 *
 * System properties: {@code connect.events} (20000), {@code connect.rate} (1000 events/s).
 */
@ServerTest
class ConnectClusterBenchmark {

  private static final int EVENTS = Integer.getInteger("connect.events", 20_000);
  private static final int RATE = Integer.getInteger("connect.rate", 1000);
  private static final String SHIPPED_SECRETS_DIR = "/etc/kafka-connect/secrets";
  private static final String CONNECTOR = "outboxkit-outbox";

  private final KafkaTestBroker kafka = TestServers.kafka();
  private final List<String> report = new ArrayList<>();

  @Test
  void taskMovesToTheOtherWorkerWithNothingLost() throws Exception {
    String id = String.valueOf(System.nanoTime() % 100_000);
    String topic = "cluster" + id;
    kafka.createTopic("connect-" + topic, 8);
    Exit.setExitProcedure(
        (code, message) -> {
          throw new IllegalStateException("Connect tried to exit " + code + ": " + message);
        });
    Exit.setHaltProcedure(
        (code, message) -> {
          throw new IllegalStateException("Connect tried to halt " + code + ": " + message);
        });
    List<Connect<DistributedHerder>> workers = new ArrayList<>();
    try (TestDatabase db = TestServers.postgres().createDatabase("connect_" + id)) {
      try {
        run(db, id, topic, workers);
      } finally {
        for (Connect<DistributedHerder> w : workers) {
          w.stop();
        }
        Exit.resetExitProcedure();
        Exit.resetHaltProcedure();
        dropSlot(db, id);
      }
    } finally {
      System.out.println();
      System.out.println("==== ConnectClusterBenchmark ====");
      report.forEach(System.out::println);
      Path out =
          Path.of(System.getProperty("peers.report.dir", "../docs/benchmarks"))
              .resolve("connect-cluster.md");
      Files.createDirectories(out.getParent());
      Files.writeString(
          out,
          "<!-- Written by ConnectClusterBenchmark (benchmarks/); see docs/benchmarks.md. -->\n\n"
              + String.join("  \n", report)
              + "\n",
          StandardCharsets.UTF_8);
    }
  }

  private void run(
      TestDatabase db, String id, String topic, List<Connect<DistributedHerder>> workers)
      throws Exception {
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox;
    try (Connection c = db.dataSource().getConnection()) {
      OutboxDialect dialect = OutboxDialect.detect(c);
      OutboxSchema.create(c, dialect, OutboxTable.DEFAULT);
      outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    }
    Path work = Files.createTempDirectory("connect-cluster");
    Path secrets = Files.createDirectories(work.resolve("secrets"));
    Files.writeString(secrets.resolve("outboxkit-db.properties"), "password=" + db.password());
    Map<String, String> worker = workerConfig(id, secrets);
    workers.add(new ConnectDistributed().startConnect(worker));
    workers.add(new ConnectDistributed().startConnect(worker));
    createConnector(workers, connectorConfig(db, id, secrets));
    String before = awaitTaskRunning(workers, null);
    line(
        "two distributed-mode workers (%s, %s), connector %s, task 0 on %s",
        workerId(workers.get(0)), workerId(workers.get(1)), CONNECTOR, before);

    try (ArrivalRecorder warm = new ArrivalRecorder(kafka.bootstrapServers(), "connect-" + topic)) {
      append(tx, outbox, topic, EVENTS / 10, 0);
      warm.awaitArrivals(EVENTS / 10, Duration.ofSeconds(120));
    }
    backlog(workers, tx, outbox, topic);
    failover(workers, tx, outbox, topic, before);
  }

  private void line(String format, Object... args) {
    String text = String.format(Locale.ROOT, format, args);
    report.add(text);
    System.out.println("[connect] " + text);
  }

  private Map<String, String> workerConfig(String id, Path secrets) throws Exception {
    Map<String, String> worker = new HashMap<>();
    worker.put("bootstrap.servers", kafka.bootstrapServers());
    worker.put("group.id", "outboxkit-connect-" + id);
    worker.put("config.storage.topic", "connect-configs-" + id);
    worker.put("offset.storage.topic", "connect-offsets-" + id);
    worker.put("status.storage.topic", "connect-status-" + id);
    worker.put("config.storage.replication.factor", "1");
    worker.put("offset.storage.replication.factor", "1");
    worker.put("status.storage.replication.factor", "1");
    worker.put("key.converter", "org.apache.kafka.connect.storage.StringConverter");
    worker.put("value.converter", "org.apache.kafka.connect.converters.ByteArrayConverter");
    worker.put("offset.flush.interval.ms", "1000");
    // A worker that dies without leaving is waited for this long before its tasks move.
    worker.put("scheduled.rebalance.max.delay.ms", "5000");
    worker.put("listeners", "http://127.0.0.1:0");
    worker.put("plugin.discovery", "only_scan");
    Properties providers = new Properties();
    try (var in =
        Files.newBufferedReader(
            Path.of("../deploy/kafka-connect/worker-config-providers.properties"))) {
      providers.load(in);
    }
    providers.forEach(
        (k, v) ->
            worker.put((String) k, ((String) v).replace(SHIPPED_SECRETS_DIR, secrets.toString())));
    return worker;
  }

  private Map<String, String> connectorConfig(TestDatabase db, String id, Path secrets)
      throws Exception {
    URI url = URI.create(db.jdbcUrl().substring("jdbc:".length()));
    Map<String, String> substitutions =
        Map.of(
            "${DB_HOST}",
            url.getHost(),
            "${DB_PORT}",
            String.valueOf(url.getPort()),
            "${DB_NAME}",
            url.getPath().substring(1),
            "${DB_USER}",
            db.username(),
            SHIPPED_SECRETS_DIR,
            secrets.toString(),
            "${SLOT_NAME}",
            "cluster_" + id,
            "${TOPIC_PREFIX}",
            "connect-",
            "${KAFKA_BOOTSTRAP_SERVERS}",
            kafka.bootstrapServers());
    JsonNode shipped =
        JsonMapper.builder()
            .build()
            .readTree(Path.of("../deploy/kafka-connect/outbox-connector-postgres.json").toFile());
    Map<String, String> config = new LinkedHashMap<>();
    shipped
        .get("config")
        .properties()
        .forEach(
            e -> {
              String value = e.getValue().asString();
              for (Map.Entry<String, String> s : substitutions.entrySet()) {
                value = value.replace(s.getKey(), s.getValue());
              }
              config.put(e.getKey(), value);
            });
    config.put("publication.name", "cluster_pub_" + id);
    config.put("name", CONNECTOR);
    return config;
  }

  /** Any worker may be asked; one that is not the leader refuses, so try each in turn. */
  private static void createConnector(
      List<Connect<DistributedHerder>> workers, Map<String, String> config) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (true) {
      for (Connect<DistributedHerder> w : workers) {
        FutureCallback<Herder.Created<ConnectorInfo>> created = new FutureCallback<>();
        w.herder().putConnectorConfig(CONNECTOR, config, true, created);
        try {
          created.get(30, TimeUnit.SECONDS);
          return;
        } catch (java.util.concurrent.ExecutionException e) {
          if (System.nanoTime() > deadline) {
            throw e;
          }
        }
      }
      Thread.sleep(500);
    }
  }

  private static String workerId(Connect<DistributedHerder> worker) {
    URI url = worker.rest().advertisedUrl();
    return url.getHost() + ":" + url.getPort();
  }

  /** The worker running task 0 once it runs, on a worker other than {@code not}. */
  private static String awaitTaskRunning(List<Connect<DistributedHerder>> workers, String not)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline) {
      for (Connect<DistributedHerder> w : workers) {
        try {
          ConnectorStateInfo status = w.herder().connectorStatus(CONNECTOR);
          for (ConnectorStateInfo.TaskState task : status.tasks()) {
            if (task.id() == 0 && "RUNNING".equals(task.state()) && !task.workerId().equals(not)) {
              return task.workerId();
            }
          }
        } catch (RuntimeException notYetKnown) {
          // The status topic may not list the connector yet: ask again.
        }
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("task 0 of " + CONNECTOR + " did not run within 120 s");
  }

  private static void append(
      JdbcTransactions tx, Outbox outbox, String topic, int events, int firstSequence) {
    for (int from = 0; from < events; from += 100) {
      List<OutboxMessage> messages = new ArrayList<>(100);
      for (int i = from; i < Math.min(events, from + 100); i++) {
        messages.add(message(topic, firstSequence + i));
      }
      tx.execute(c -> outbox.appendAll(messages));
    }
  }

  private static OutboxMessage message(String topic, int sequence) {
    String payload = Payloads.of(System.currentTimeMillis(), 1024);
    payload = "S" + String.format("%09d", sequence) + payload.substring(10);
    return OutboxMessage.of(
        topic, "key-" + sequence % 500, "Bench", payload.getBytes(StandardCharsets.UTF_8));
  }

  private void backlog(
      List<Connect<DistributedHerder>> workers, JdbcTransactions tx, Outbox outbox, String topic)
      throws Exception {
    Connect<DistributedHerder> any = workers.get(0);
    any.herder().pauseConnector(CONNECTOR);
    Thread.sleep(3000);
    append(tx, outbox, topic, EVENTS, 1_000_000);
    try (ArrivalRecorder recorder =
        new ArrivalRecorder(kafka.bootstrapServers(), "connect-" + topic)) {
      long start = System.nanoTime();
      any.herder().resumeConnector(CONNECTOR);
      long[] arrivals = recorder.awaitArrivals(EVENTS, Duration.ofSeconds(240));
      PassResult result = new PassResult("connect", 1, EVENTS, start, arrivals, Double.NaN);
      line(
          "backlog of %,d events of 1 KiB (connector paused while appended, then resumed): drained"
              + " at %,.0f events/s from first to last arrival; first after %.0f ms, all after"
              + " %.1f s",
          EVENTS, result.drainRate(), result.firstEventMillis(), result.totalSeconds());
    }
  }

  private void failover(
      List<Connect<DistributedHerder>> workers,
      JdbcTransactions tx,
      Outbox outbox,
      String topic,
      String runningOn)
      throws Exception {
    Connect<DistributedHerder> owner =
        workers.stream().filter(w -> workerId(w).equals(runningOn)).findFirst().orElseThrow();
    AtomicInteger written = new AtomicInteger();
    AtomicBoolean writing = new AtomicBoolean(true);
    Thread writer =
        new Thread(
            () -> {
              long next = System.nanoTime();
              while (writing.get()) {
                int sequence = 2_000_000 + written.get();
                tx.execute(c -> outbox.append(message(topic, sequence)));
                written.incrementAndGet();
                next += 1_000_000_000L / RATE;
                long wait = next - System.nanoTime();
                if (wait > 0) {
                  java.util.concurrent.locks.LockSupport.parkNanos(wait);
                }
              }
            },
            "connect-writer");
    try (ArrivalRecorder recorder =
        new ArrivalRecorder(kafka.bootstrapServers(), "connect-" + topic)) {
      writer.start();
      Thread.sleep(4000);
      long stopAt = System.nanoTime();
      owner.stop();
      workers.remove(owner);
      String after = awaitTaskRunning(workers, runningOn);
      double moved = (System.nanoTime() - stopAt) / 1e9;
      Thread.sleep(4000);
      writing.set(false);
      writer.join();
      Map<Integer, Integer> seen =
          recorder.sequences(2_000_000, written.get(), Duration.ofSeconds(120));
      int duplicates = seen.values().stream().mapToInt(n -> n - 1).sum();
      int missing = written.get() - seen.size();
      line(
          "stopped the worker running the task (%s) with %,d events/s being appended: task 0"
              + " RUNNING on %s %.1f s later; %,d events appended in all, %,d received, %,d"
              + " duplicates, %,d missing",
          runningOn, RATE, after, moved, written.get(), seen.size(), duplicates, missing);
      if (missing != 0) {
        throw new AssertionError(missing + " events lost when the task moved");
      }
    }
  }

  /**
   * Drops the slot once its last walsender is gone (a database with a logical slot cannot be
   * dropped); a walsender that outlives its stopped worker is ended first.
   */
  private static void dropSlot(TestDatabase db, String id) {
    String slot = "'cluster_" + id + "'";
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      for (int attempt = 0; attempt < 40; attempt++) {
        s.execute(
            "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = "
                + slot
                + " AND active");
        s.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = "
                + slot
                + " AND NOT active");
        try (var rs =
            s.executeQuery("SELECT count(*) FROM pg_replication_slots WHERE slot_name = " + slot)) {
          rs.next();
          if (rs.getInt(1) == 0) {
            return;
          }
        }
        Thread.sleep(250);
      }
      System.out.println("[connect] replication slot " + slot + " still there after 10 s");
    } catch (Exception e) {
      System.out.println("[connect] could not drop the replication slot: " + e);
    }
  }
}
