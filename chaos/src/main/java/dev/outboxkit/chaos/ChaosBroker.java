package dev.outboxkit.chaos;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.jspecify.annotations.Nullable;

/**
 * The run's own Kafka broker, a one-node KRaft cluster (broker and controller) in a child JVM
 * ({@code kafka.Kafka} from the kit's class path), so that a fault can crash it with {@code kill
 * -9} and start it again on the same ports and log directory, as a broker host that died and
 * restarted. (The in-JVM broker of {@code outbox-test} cannot be restarted.) Its log is {@code
 * broker.log} in the run's work directory.
 *
 * <p>Secured (for the ACL fault), clients connect with SASL/PLAIN and the {@code
 * StandardAuthorizer} checks ACLs: the kit is a super user ({@value #ADMIN}), the relays are
 * {@value #RELAY} and may only do what the kit granted them. The passwords are drawn per run and
 * never logged.
 */
final class ChaosBroker implements AutoCloseable {

  private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);

  /** The kit's own principal on a secured broker: a super user. */
  static final String ADMIN = "chaosadmin";

  /** The relays' principal on a secured broker. */
  static final String RELAY = "chaosrelay";

  private final Path dir;
  private final @Nullable Map<String, String> passwords;
  private final Path properties;
  private final Path log;
  private final int port;
  private Process process;

  private ChaosBroker(
      Path dir, Path properties, Path log, int port, @Nullable Map<String, String> passwords) {
    this.dir = dir;
    this.passwords = passwords;
    this.properties = properties;
    this.log = log;
    this.port = port;
  }

  /** Formats a new log directory and starts the broker; returns once it serves requests. */
  static ChaosBroker start(Path workDir, boolean secured) {
    try {
      Files.createDirectories(workDir);
      Path dir = Files.createTempDirectory(workDir.toAbsolutePath(), "kafka");
      int[] ports = freePorts(2);
      Path properties = dir.resolve("server.properties");
      Map<String, String> passwords =
          secured
              ? Map.of(ADMIN, Uuid.randomUuid().toString(), RELAY, Uuid.randomUuid().toString())
              : null;
      String config =
          config(dir, ports[0], ports[1])
              + (secured
                  ? security(passwords)
                  : "listener.security.protocol.map=CLIENTS:PLAINTEXT,CONTROLLER:PLAINTEXT\n");
      Files.writeString(properties, config, StandardCharsets.UTF_8);
      ChaosBroker broker =
          new ChaosBroker(dir, properties, workDir.resolve("broker.log"), ports[0], passwords);
      broker.format();
      broker.restart();
      return broker;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not prepare the Kafka broker's directory", e);
    }
  }

  private static String security(Map<String, String> passwords) {
    return String.join(
        "\n",
        "listener.security.protocol.map=CLIENTS:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
        "sasl.enabled.mechanisms=PLAIN",
        "sasl.mechanism.inter.broker.protocol=PLAIN",
        "listener.name.clients.plain.sasl.jaas.config="
            + "org.apache.kafka.common.security.plain.PlainLoginModule required"
            + " username=\""
            + ADMIN
            + "\" password=\""
            + passwords.get(ADMIN)
            + "\" user_"
            + ADMIN
            + "=\""
            + passwords.get(ADMIN)
            + "\" user_"
            + RELAY
            + "=\""
            + passwords.get(RELAY)
            + "\";",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        // The controller listener is local plain text: the broker reaches its own controller as
        // ANONYMOUS, which must be allowed cluster actions.
        "super.users=User:" + ADMIN + ";User:ANONYMOUS",
        "");
  }

  /** Whether clients must authenticate and are held to ACLs. */
  boolean secured() {
    return passwords != null;
  }

  /** The client settings (beyond the servers) of a principal; none on a plain broker. */
  Map<String, Object> clientProperties(String principal) {
    if (passwords == null) {
      return Map.of();
    }
    return Map.of(
        "security.protocol",
        "SASL_PLAINTEXT",
        "sasl.mechanism",
        "PLAIN",
        "sasl.jaas.config",
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
            + principal
            + "\" password=\""
            + passwords.get(principal)
            + "\";");
  }

  private static String config(Path dir, int port, int controllerPort) {
    return String.join(
        "\n",
        "process.roles=broker,controller",
        "node.id=1",
        "controller.quorum.bootstrap.servers=localhost:" + controllerPort,
        "listeners=CLIENTS://localhost:" + port + ",CONTROLLER://localhost:" + controllerPort,
        "advertised.listeners=CLIENTS://localhost:" + port,
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=CLIENTS",
        "log.dirs=" + dir.resolve("data"),
        "auto.create.topics.enable=false",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=4",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "transaction.state.log.num.partitions=4",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        // A restarted broker registers again once its previous session expired: keep it short.
        "broker.heartbeat.interval.ms=500",
        "broker.session.timeout.ms=3000",
        "");
  }

  private static int[] freePorts(int count) throws IOException {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      int[] ports = new int[count];
      for (int i = 0; i < count; i++) {
        ServerSocket socket = new ServerSocket(0);
        sockets.add(socket);
        ports[i] = socket.getLocalPort();
      }
      return ports;
    } finally {
      for (ServerSocket socket : sockets) {
        socket.close();
      }
    }
  }

  private void format() {
    Process format =
        launch(
            "kafka.tools.StorageTool",
            "format",
            "--standalone",
            "-t",
            Uuid.randomUuid().toString(),
            "-c",
            properties.toString());
    try {
      if (!format.waitFor(120, TimeUnit.SECONDS) || format.exitValue() != 0) {
        format.destroyForcibly();
        throw new IllegalStateException("Could not format the Kafka log directory; see " + log);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while formatting the Kafka log directory", e);
    }
  }

  private Process launch(String mainClass, String... args) {
    String java = ProcessHandle.current().info().command().orElse("java");
    String classPath =
        System.getProperty("outboxkit.chaos.classpath", System.getProperty("java.class.path"));
    List<String> command =
        new ArrayList<>(List.of(java, "-Xmx512m", "-XX:+UseSerialGC", "-cp", classPath, mainClass));
    command.addAll(List.of(args));
    try {
      return new ProcessBuilder(command)
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start " + mainClass, e);
    }
  }

  /** {@code localhost:<port>}. */
  String bootstrapServers() {
    return "localhost:" + port;
  }

  /** {@code kill -9}: no shutdown, no flush; the log directory is recovered at the next start. */
  synchronized void kill() {
    process.destroyForcibly();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("The Kafka broker still runs 30 s after SIGKILL");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted", e);
    }
  }

  /**
   * Starts the broker on its ports and log directory and waits until every partition of every topic
   * has a leader; returns how long that took.
   */
  synchronized Duration restart() {
    long started = System.nanoTime();
    process = launch("kafka.Kafka", properties.toString());
    awaitReady(started);
    return Duration.ofNanos(System.nanoTime() - started);
  }

  private void awaitReady(long started) {
    long deadline = started + READY_TIMEOUT.toNanos();
    Map<String, Object> config = new java.util.HashMap<>(clientProperties(ADMIN));
    config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5_000);
    config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2_000);
    try (Admin admin = Admin.create(config)) {
      while (true) {
        if (!process.isAlive()) {
          throw new IllegalStateException(
              "The Kafka broker exited (" + process.exitValue() + "); see " + log);
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("The Kafka broker was not ready in time; see " + log);
        }
        try {
          var names = admin.listTopics().names().get(5, TimeUnit.SECONDS);
          Map<String, TopicDescription> topics =
              names.isEmpty()
                  ? Map.of()
                  : admin.describeTopics(names).allTopicNames().get(5, TimeUnit.SECONDS);
          boolean led =
              topics.values().stream()
                  .flatMap(t -> t.partitions().stream())
                  .map(TopicPartitionInfo::leader)
                  .allMatch(leader -> leader != null && !leader.isEmpty());
          if (led) {
            return;
          }
        } catch (ExecutionException | TimeoutException e) {
          // Not up yet.
        }
        Pause.millis(200);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while waiting for the Kafka broker", e);
    }
  }

  @Override
  public synchronized String toString() {
    return "Kafka (KRaft, child process "
        + process.pid()
        + (secured() ? ", SASL/PLAIN and ACLs" : "")
        + ") at "
        + bootstrapServers();
  }

  /** Stops the broker (SIGKILL: nothing of it is kept) and deletes its directory. */
  @Override
  public synchronized void close() {
    if (process != null && process.isAlive()) {
      kill();
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // A left-over temporary directory is not worth failing the run's report for.
    }
  }
}
