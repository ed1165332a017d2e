package dev.outboxkit.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.server.common.MetadataVersion;
import org.jspecify.annotations.Nullable;

/**
 * A real Kafka broker for tests: an in-JVM KRaft broker started once per JVM, or an external
 * cluster named by {@code OUTBOXKIT_TEST_KAFKA_BOOTSTRAP_SERVERS} / {@code
 * -Doutboxkit.test.kafka.bootstrap-servers}.
 *
 * <p>Topics are not auto-created on the embedded broker, so tests create them with {@link
 * #createTopic(String, int)} and see the same failure a production cluster gives for a missing one.
 */
public final class KafkaTestBroker {

  private final String bootstrapServers;
  private final String description;
  private final @Nullable KafkaClusterTestKit embedded;

  private KafkaTestBroker(
      String bootstrapServers, String description, @Nullable KafkaClusterTestKit embedded) {
    this.bootstrapServers = bootstrapServers;
    this.description = description;
    this.embedded = embedded;
  }

  static KafkaTestBroker start() {
    String external = ExternalServer.setting("kafka", "bootstrap-servers");
    if (external != null) {
      return new KafkaTestBroker(external, "external Kafka at " + external, null);
    }
    try {
      return startEmbedded(singleNode());
    } catch (IOException e) {
      throw new UncheckedIOException("Could not create the in-JVM Kafka broker's directory", e);
    }
  }

  /**
   * Starts a broker from the builder and registers its stop with {@link TestShutdown}: the broker
   * is closed (which deletes its directory) in the JVM's one ordered shutdown hook.
   */
  static KafkaTestBroker startEmbedded(KafkaClusterTestKit.Builder builder) {
    TestShutdown.recordKafkaExits();
    KafkaClusterTestKit broker;
    try {
      broker = builder.build();
      broker.format();
      broker.startup();
      broker.waitForReadyBrokers();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while starting the in-JVM Kafka broker", e);
    } catch (Exception e) {
      throw new IllegalStateException("Could not start the in-JVM Kafka broker", e);
    }
    String servers = broker.bootstrapServers();
    String description = "in-JVM Kafka (KRaft) at " + servers;
    TestShutdown.register(description, () -> close(broker));
    return new KafkaTestBroker(servers, description, broker);
  }

  private static void close(KafkaClusterTestKit broker) {
    try {
      broker.close(); // also rethrows the first fault the broker's fault handlers saw
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new IllegalStateException("The in-JVM Kafka broker did not close cleanly", e);
    }
  }

  /**
   * A one-node KRaft cluster as the tests need it: the production metadata version (not the test
   * kit's default, the newest testing version, whose unfinished features made idempotent producers
   * fail with OutOfOrderSequenceException), no topic auto-creation, internal topics with one
   * replica.
   *
   * <p>Its directory is one of ours, deleted by {@link KafkaClusterTestKit#close()} once the broker
   * stopped. Left to the test kit, the directory comes from Kafka's {@code TestUtils}, which
   * deletes it in a JVM shutdown hook of its own, concurrently with the broker's stop: a broker
   * that still runs then finds its log dir gone and halts the JVM with status 1.
   */
  static KafkaClusterTestKit.Builder singleNode() throws IOException {
    return new KafkaClusterTestKit.Builder(
            new TestKitNodes.Builder()
                .setBaseDirectory(Files.createTempDirectory("outboxkit-kafka"))
                .setCombined(true)
                .setNumBrokerNodes(1)
                .setNumControllerNodes(1)
                .setBootstrapMetadataVersion(MetadataVersion.latestProduction())
                .build())
        .setConfigProp("auto.create.topics.enable", "false")
        .setConfigProp("transaction.state.log.replication.factor", "1")
        .setConfigProp("transaction.state.log.min.isr", "1")
        .setConfigProp("offsets.topic.replication.factor", "1")
        .setConfigProp("group.initial.rebalance.delay.ms", "0");
  }

  /** The {@code bootstrap.servers} value for clients. */
  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** Whether this broker runs inside this JVM (as opposed to an external cluster). */
  public boolean isEmbedded() {
    return embedded != null;
  }

  /**
   * Creates a topic, or does nothing when it exists, and returns once the broker reports every
   * partition with a leader: a client asking right after this sees the whole topic (see {@link
   * KafkaTopics} for a client-side wait too).
   *
   * @param name the topic name
   * @param partitions the number of partitions, at least 1
   */
  public void createTopic(String name, int partitions) {
    try (Admin admin = admin()) {
      try {
        admin
            .createTopics(List.of(new NewTopic(name, partitions, (short) 1)))
            .all()
            .get(30, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) {
          throw new IllegalStateException("Could not create topic " + name, e.getCause());
        }
      }
      awaitLeaders(admin, name, Duration.ofSeconds(60));
    } catch (TimeoutException e) {
      throw new IllegalStateException("Timed out creating topic " + name + " on " + description, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while creating topic " + name, e);
    }
  }

  /**
   * Waits until a metadata request to the broker names the topic with a leader for each partition.
   * Topic creation returns when the controller committed it, which can be before the broker that
   * answers clients knows the topic.
   */
  private void awaitLeaders(Admin admin, String name, Duration timeout)
      throws InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "no answer";
    while (System.nanoTime() < deadline) {
      try {
        TopicDescription description =
            admin.describeTopics(List.of(name)).allTopicNames().get(10, TimeUnit.SECONDS).get(name);
        if (description != null
            && !description.partitions().isEmpty()
            && description.partitions().stream().allMatch(p -> p.leader() != null)) {
          return;
        }
        last = String.valueOf(description);
      } catch (ExecutionException e) {
        last = String.valueOf(e.getCause()); // e.g. UnknownTopicOrPartitionException: not yet
      } catch (TimeoutException e) {
        last = "describeTopics timed out";
      }
      Thread.sleep(50);
    }
    throw new TimeoutException(
        "Topic " + name + " had no leader for every partition within " + timeout + ": " + last);
  }

  /** The names of the topics that exist now. */
  public Set<String> topics() {
    try (Admin admin = admin()) {
      return admin.listTopics().names().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("Could not list topics on " + description, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while listing topics", e);
    }
  }

  /** An admin client on this broker; the caller closes it. */
  public Admin admin() {
    return Admin.create(
        Map.of(
            AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
            bootstrapServers,
            AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
            (int) Duration.ofSeconds(30).toMillis()));
  }

  @Override
  public String toString() {
    return description;
  }
}
