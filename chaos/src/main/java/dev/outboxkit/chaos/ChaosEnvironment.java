package dev.outboxkit.chaos;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outboxkit.test.DatabaseKind;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.RestartableDatabaseServer;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.jspecify.annotations.Nullable;

/**
 * The database and Kafka of a run: the user's own ({@code --jdbc-url}, {@code
 * --bootstrap-servers}), or embedded ones this run starts: a restartable database server of its own
 * (so the database-restart fault can crash it) and the in-JVM KRaft broker of {@code outbox-test}.
 */
final class ChaosEnvironment implements AutoCloseable {

  private final DatabaseKind kind;
  private final String jdbcUrl;
  private final String user;
  private final String password;
  private final String bootstrapServers;
  private final @Nullable RestartableDatabaseServer server;
  private final @Nullable TestDatabase database;
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
      String description) {
    this.kind = kind;
    this.jdbcUrl = jdbcUrl;
    this.user = user;
    this.password = password;
    this.bootstrapServers = bootstrapServers;
    this.server = server;
    this.database = database;
    this.description = description;
    this.admin = pool(jdbcUrl, user, password, "chaos-admin", 2);
  }

  /** Starts what the configuration does not name, and connects to what it does. */
  static ChaosEnvironment open(ChaosConfig config) {
    String servers;
    String kafka;
    if (config.bootstrapServers() != null) {
      servers = config.bootstrapServers();
      kafka = "Kafka at " + servers;
    } else {
      KafkaTestBroker broker = TestServers.kafka();
      servers = broker.bootstrapServers();
      kafka = broker.toString();
    }
    if (config.jdbcUrl() != null) {
      return new ChaosEnvironment(
          kindOf(config.jdbcUrl()),
          config.jdbcUrl(),
          config.user(),
          config.password(),
          servers,
          null,
          null,
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
        server.description() + ", " + kafka);
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

  /** Connections for the kit itself (schema, lease look-ups, killing other connections). */
  HikariDataSource admin() {
    return admin;
  }

  String description() {
    return description;
  }

  /** Creates the topic, or keeps it when it exists. */
  void createTopic(String name, int partitions) {
    try (Admin client =
        Admin.create(
            Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrapServers,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                60_000))) {
      client
          .createTopics(
              List.of(
                  new NewTopic(name, partitions, (short) -1)
                      // The broker stamps each record when it appends it: the takeover times are
                      // measured on these stamps. (The relay sets CreateTime to the event's
                      // creation, which says nothing about when it was published.)
                      .configs(Map.of("message.timestamp.type", "LogAppendTime"))))
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
  }
}
