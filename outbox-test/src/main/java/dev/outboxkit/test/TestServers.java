package dev.outboxkit.test;

import java.util.EnumMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shared servers of this JVM. Each starts on first use and stops when the JVM exits.
 *
 * <p>To run the same tests against servers you already have (Aurora, RDS, MSK, a CI service
 * container), set for each server you want to replace:
 *
 * <table>
 *   <caption>External servers</caption>
 *   <tr><th>Environment variable</th><th>System property</th><th>Meaning</th></tr>
 *   <tr><td>{@code OUTBOXKIT_TEST_POSTGRESQL_URL}</td><td>{@code outboxkit.test.postgresql.url}</td>
 *       <td>JDBC URL of an administrative database, e.g. {@code jdbc:postgresql://db:5432/postgres}</td></tr>
 *   <tr><td>{@code OUTBOXKIT_TEST_MARIADB_URL}, {@code OUTBOXKIT_TEST_MYSQL_URL}</td>
 *       <td>{@code outboxkit.test.mariadb.url}, {@code outboxkit.test.mysql.url}</td>
 *       <td>the same for MariaDB / MySQL, e.g. {@code jdbc:mysql://db:3306/mysql}</td></tr>
 *   <tr><td>{@code OUTBOXKIT_TEST_<DB>_USERNAME}, {@code OUTBOXKIT_TEST_<DB>_PASSWORD}</td>
 *       <td>{@code outboxkit.test.<db>.username}, {@code outboxkit.test.<db>.password}</td>
 *       <td>an account that may create and drop databases</td></tr>
 *   <tr><td>{@code OUTBOXKIT_TEST_KAFKA_BOOTSTRAP_SERVERS}</td>
 *       <td>{@code outboxkit.test.kafka.bootstrap-servers}</td><td>an existing Kafka cluster</td></tr>
 * </table>
 *
 * <p>Every test class still gets its own database, created and dropped on the external server.
 */
public final class TestServers {

  private static final Logger log = LoggerFactory.getLogger(TestServers.class);
  private static final Map<DatabaseKind, DatabaseServer> databases =
      new EnumMap<>(DatabaseKind.class);
  private static @Nullable KafkaTestBroker kafka;

  private TestServers() {}

  /**
   * PostgreSQL: external when configured, else embedded PostgreSQL with {@code wal_level=logical}.
   */
  public static DatabaseServer postgres() {
    return database(DatabaseKind.POSTGRESQL);
  }

  /** MariaDB: external when configured, else a MariaDB server process with a ROW binlog. */
  public static DatabaseServer mariadb() {
    return database(DatabaseKind.MARIADB);
  }

  /**
   * MySQL 8: external when configured, else a MySQL 8.0 server process from binaries on the class
   * path (Linux x86_64 with the {@code libaio1} and {@code libnuma1} packages), else a
   * Testcontainers container when a Docker engine exists. Without any of them, this throws {@link
   * org.opentest4j.TestAbortedException}, which JUnit reports as a skipped test with a message
   * naming the missing packages.
   */
  public static DatabaseServer mysql() {
    return database(DatabaseKind.MYSQL);
  }

  /** In-memory H2. */
  public static DatabaseServer h2() {
    return database(DatabaseKind.H2);
  }

  /** The server for a database product. */
  public static synchronized DatabaseServer database(DatabaseKind kind) {
    FastLane.refuseServer(kind.key());
    DatabaseServer server = databases.get(kind);
    if (server == null) {
      long start = System.nanoTime();
      server = ExternalServer.database(kind);
      if (server == null) {
        server =
            switch (kind) {
              case POSTGRESQL -> EmbeddedPostgresLauncher.start();
              case MARIADB -> MariaDbLauncher.start();
              case MYSQL -> MySqlLauncher.start();
              case H2 -> new H2TestServer();
            };
      }
      log.info(
          "Using {} (ready in {} ms)",
          server.description(),
          (System.nanoTime() - start) / 1_000_000);
      databases.put(kind, server);
    }
    return server;
  }

  /**
   * Why a server cannot be had here, or {@code null} when it can. Only MySQL can be missing: its
   * process needs Linux x86_64 and the shared libraries of the {@code libaio1} and {@code libnuma1}
   * packages; failing that, a Docker engine or an external server.
   */
  public static @Nullable String unavailableReason(DatabaseKind kind) {
    return kind == DatabaseKind.MYSQL && ExternalServer.setting(kind.key(), "url") == null
        ? MySqlLauncher.unavailableReason()
        : null;
  }

  /** Kafka: external when configured, else an in-JVM KRaft broker. */
  public static synchronized KafkaTestBroker kafka() {
    FastLane.refuseServer("Kafka");
    if (kafka == null) {
      long start = System.nanoTime();
      kafka = KafkaTestBroker.start();
      log.info("Using {} (ready in {} ms)", kafka, (System.nanoTime() - start) / 1_000_000);
    }
    return kafka;
  }
}
