package dev.outboxkit.test;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;

/**
 * Starts PostgreSQL from the binaries packaged on Maven Central. Logical decoding is on so CDC
 * tests can share the server; {@code fsync} is off for speed, which loses nothing when only the
 * server process (not the machine) dies, which is all a test does.
 */
final class EmbeddedPostgresLauncher {

  private EmbeddedPostgresLauncher() {}

  /** The configuration every embedded PostgreSQL of the tests shares. */
  static EmbeddedPostgres.Builder builder() {
    return EmbeddedPostgres.builder()
        .setPGStartupWait(Duration.ofSeconds(60))
        .setServerConfig("wal_level", "logical")
        .setServerConfig("max_replication_slots", "20")
        .setServerConfig("max_wal_senders", "20")
        .setServerConfig("wal_writer_delay", "10ms")
        .setServerConfig("max_connections", "300")
        .setServerConfig("fsync", "off")
        .setServerConfig("full_page_writes", "off");
  }

  static DatabaseServer start() {
    try {
      EmbeddedPostgres postgres = builder().start();
      TestShutdown.register(
          "embedded PostgreSQL on port " + postgres.getPort(), () -> closeQuietly(postgres));
      return new JdbcDatabaseServer(
          DatabaseKind.POSTGRESQL,
          "embedded PostgreSQL on port " + postgres.getPort(),
          postgres.getJdbcUrl("postgres", "postgres"),
          "postgres",
          "");
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start embedded PostgreSQL", e);
    }
  }

  private static void closeQuietly(EmbeddedPostgres postgres) {
    try {
      postgres.close();
    } catch (IOException e) {
      // The JVM is exiting; the data directory is temporary.
    }
  }
}
