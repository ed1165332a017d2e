package dev.outboxkit.test;

import java.util.List;
import java.util.Objects;
import org.opentest4j.TestAbortedException;

/**
 * A MySQL 8 server process of a test's own, started with options of its choice (e.g. {@code
 * --skip-log-bin}) where the shared one of {@link TestServers#mysql()} must not be changed. Starts
 * in about 1.5 s; {@link #close()} stops it and deletes its data. Aborts the test (a skip naming
 * the package) where {@code mysqld} cannot run.
 */
public final class MySqlServer implements DatabaseServer, AutoCloseable {

  private final MySqlProcess process;
  private final JdbcDatabaseServer server;

  private MySqlServer(MySqlProcess process) {
    this.process = process;
    this.server =
        new JdbcDatabaseServer(
            DatabaseKind.MYSQL, process + ", MySQL 8.0.31", process.adminUrl(), "root", "");
  }

  /**
   * Starts a server with {@code options} after the usual ones.
   *
   * @param options further {@code mysqld} options
   */
  public static MySqlServer start(String... options) {
    Objects.requireNonNull(options, "options");
    FastLane.refuseServer("a MySQL server of its own");
    String unavailable = MySqlLauncher.processUnavailableReason();
    if (unavailable != null) {
      throw new TestAbortedException(MySqlLauncher.unavailableMessage(unavailable));
    }
    CachedMySql cache = new CachedMySql(CachedMySql.defaultCacheDirectory());
    return new MySqlServer(
        MySqlProcess.start(cache.binaries(), cache.template(), 1, List.of(options)));
  }

  @Override
  public DatabaseKind kind() {
    return DatabaseKind.MYSQL;
  }

  @Override
  public String description() {
    return server.description();
  }

  @Override
  public TestDatabase createDatabase(String name) {
    return server.createDatabase(name);
  }

  @Override
  public void dropDatabase(String name) {
    server.dropDatabase(name);
  }

  @Override
  public void close() {
    process.close();
  }

  @Override
  public String toString() {
    return server.toString();
  }
}
