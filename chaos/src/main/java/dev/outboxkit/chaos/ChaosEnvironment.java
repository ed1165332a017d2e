package dev.outboxkit.chaos;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outboxkit.test.DatabaseKind;
import dev.outboxkit.test.RestartableDatabaseServer;
import dev.outboxkit.test.TestDatabase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.jspecify.annotations.Nullable;

/**
 * The database and Kafka of a run: the user's own ({@code --jdbc-url}, {@code
 * --bootstrap-servers}), or embedded ones this run starts: a restartable database server of its own
 * (so the database-restart fault can crash it) and a Kafka broker in a child process of its own (so
 * the broker-restart fault can crash it too).
 */
final class ChaosEnvironment implements AutoCloseable {

  private final DatabaseKind kind;
  private final String jdbcUrl;
  private final String user;
  private final String password;
  private final String bootstrapServers;
  private final @Nullable RestartableDatabaseServer server;
  private final @Nullable TestDatabase database;
  private final @Nullable ChaosBroker broker;
  private final String description;
  private final HikariDataSource admin;

  private ChaosEnvironment(
      DatabaseKind kind,
      String jdbcUrl,
      String user,
      String password,
      String bootstrapServers,
      @Nullable RestartableDatabaseServer server,
      @Nullable TestDatabase database,
      @Nullable ChaosBroker broker,
      String description) {
    this.kind = kind;
    this.jdbcUrl = jdbcUrl;
    this.user = user;
    this.password = password;
    this.bootstrapServers = bootstrapServers;
    this.server = server;
    this.database = database;
    this.broker = broker;
    this.description = description;
    this.admin = pool(jdbcUrl, user, password, "chaos-admin", 2);
  }

  /** Starts what the configuration does not name, and connects to what it does. */
  static ChaosEnvironment open(ChaosConfig config) {
    String servers;
    String kafka;
    ChaosBroker broker = null;
    if (config.bootstrapServers() != null) {
      servers = config.bootstrapServers();
      kafka = "Kafka at " + servers;
    } else {
      broker = ChaosBroker.start(config.workDir(), config.faults().contains(AclRefusalFault.NAME));
      servers = broker.bootstrapServers();
      kafka = broker.toString();
    }
    try {
      if (config.jdbcUrl() != null) {
        return new ChaosEnvironment(
            kindOf(config.jdbcUrl()),
            config.jdbcUrl(),
            config.user(),
            config.password(),
            servers,
            null,
            null,
            broker,
            "database at " + config.jdbcUrl() + ", " + kafka);
      }
      RestartableDatabaseServer server = RestartableDatabaseServer.start(config.database());
      TestDatabase db = server.createDatabase("chaos");
      return new ChaosEnvironment(
          config.database(),
          db.jdbcUrl(),
          db.username(),
          db.password(),
          servers,
          server,
          db,
          broker,
          server.description() + ", " + kafka);
    } catch (RuntimeException e) {
      if (broker != null) {
        broker.close();
      }
      throw e;
    }
  }

  static DatabaseKind kindOf(String jdbcUrl) {
    if (jdbcUrl.startsWith("jdbc:postgresql:")) {
      return DatabaseKind.POSTGRESQL;
    }
    if (jdbcUrl.startsWith("jdbc:mariadb:")) {
      return DatabaseKind.MARIADB;
    }
    if (jdbcUrl.startsWith("jdbc:mysql:")) {
      return DatabaseKind.MYSQL;
    }
    throw new IllegalArgumentException(
        "--jdbc-url: expected jdbc:postgresql:, jdbc:mariadb: or jdbc:mysql:, was " + jdbcUrl);
  }

  /** A small pool on the run's database. */
  static HikariDataSource pool(String url, String user, String password, String name, int size) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setUsername(user);
    config.setPassword(password);
    config.setMaximumPoolSize(size);
    config.setMinimumIdle(0);
    config.setPoolName(name);
    // Faults make the database unreachable for seconds: fail fast and try again, never hang.
    config.setConnectionTimeout(Duration.ofSeconds(5).toMillis());
    config.setInitializationFailTimeout(-1);
    return new HikariDataSource(config);
  }

  DatabaseKind kind() {
    return kind;
  }

  String jdbcUrl() {
    return jdbcUrl;
  }

  String user() {
    return user;
  }

  String password() {
    return password;
  }

  String bootstrapServers() {
    return bootstrapServers;
  }

  /** The run's own database server, which faults may crash and restart; null for the user's. */
  @Nullable RestartableDatabaseServer restartableServer() {
    return server;
  }

  /** The run's own Kafka broker, which faults may crash and restart; null for the user's. */
  @Nullable ChaosBroker restartableBroker() {
    return broker;
  }

  /**
   * Writes the Kafka client settings a relay needs beyond the bootstrap servers: its SASL login on
   * a secured embedded broker, none otherwise (an empty file keeps the relay's defaults).
   */
  void writeClientProperties(Path file) {
    Properties properties = new Properties();
    if (broker != null) {
      broker.clientProperties(ChaosBroker.RELAY).forEach(properties::put);
    }
    try (Writer writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      properties.store(writer, "Kafka client settings of a chaos relay");
    } catch (IOException e) {
      throw new UncheckedIOException("Could not write " + file, e);
    }
  }

  /** The Kafka client settings of the kit's own clients (admin, reader) beyond the servers. */
  Map<String, Object> kafkaClientProperties() {
    return broker == null ? Map.of() : broker.clientProperties(ChaosBroker.ADMIN);
  }

  /** Whether the broker checks ACLs (a secured embedded broker). */
  boolean kafkaAuthorizes() {
    return broker != null && broker.secured();
  }

  /** An ACL entry allowing the relays' principal {@code operation} on a topic. */
  static AclBinding relayAcl(String topic, AclOperation operation) {
    return new AclBinding(
        new ResourcePattern(ResourceType.TOPIC, topic, PatternType.LITERAL),
        new AccessControlEntry(
            "User:" + ChaosBroker.RELAY, "*", operation, AclPermissionType.ALLOW));
  }

  /** Grants ({@code true}) or revokes ACL entries on the broker. */
  void acls(boolean grant, List<AclBinding> bindings) {
    try (Admin client = kafkaAdmin()) {
      if (grant) {
        client.createAcls(bindings).all().get(60, TimeUnit.SECONDS);
      } else {
        client
            .deleteAcls(bindings.stream().map(AclBinding::toFilter).toList())
            .all()
            .get(60, TimeUnit.SECONDS);
      }
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("Could not change the relays' ACLs", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while changing ACLs", e);
    }
  }

  /** Connections for the kit itself (schema, lease look-ups, killing other connections). */
  HikariDataSource admin() {
    return admin;
  }

  String description() {
    return description;
  }

  /** Creates the topic, or keeps it when it exists. */
  void createTopic(String name, int partitions) {
    // The broker stamps each record when it appends it: the takeover times are measured on these
    // stamps. (The relay sets CreateTime to the event's creation, which says nothing about when it
    // was published.)
    createTopic(name, partitions, Map.of("message.timestamp.type", "LogAppendTime"));
  }

  /** A Kafka admin client for the run's broker. */
  Admin kafkaAdmin() {
    Map<String, Object> config = new HashMap<>(kafkaClientProperties());
    config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 60_000);
    return Admin.create(config);
  }

  /** Deletes the topic, or does nothing when it is missing. */
  void deleteTopic(String name) {
    try (Admin client = kafkaAdmin()) {
      try {
        client.deleteTopics(List.of(name)).all().get(60, TimeUnit.SECONDS);
      } finally {
        // Deletion completes in the background: a create before it is done would find the topic.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (client.listTopics().names().get(30, TimeUnit.SECONDS).contains(name)
            && System.nanoTime() < deadline) {
          Pause.millis(100);
        }
      }
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
        throw new IllegalStateException("Could not delete topic " + name, e.getCause());
      }
    } catch (TimeoutException e) {
      throw new IllegalStateException("Timed out deleting topic " + name, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while deleting topic " + name, e);
    }
  }

  /** Creates the topic with these settings, or keeps it when it exists. */
  void createTopic(String name, int partitions, Map<String, String> configs) {
    try (Admin client = kafkaAdmin()) {
      client
          .createTopics(List.of(new NewTopic(name, partitions, (short) -1).configs(configs)))
          .all()
          .get(60, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        throw new IllegalStateException("Could not create topic " + name, e.getCause());
      }
    } catch (TimeoutException e) {
      throw new IllegalStateException("Timed out creating topic " + name, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while creating topic " + name, e);
    }
  }

  @Override
  public void close() {
    admin.close();
    if (database != null) {
      try {
        database.close();
      } catch (RuntimeException e) {
        // The server goes away next anyway; a failed drop must not hide the run's report.
      }
    }
    if (server != null) {
      server.close();
    }
    if (broker != null) {
      broker.close();
    }
  }
}
