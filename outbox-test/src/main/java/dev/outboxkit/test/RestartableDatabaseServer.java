package dev.outboxkit.test;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.opentest4j.TestAbortedException;

/**
 * A database server of its own, not the shared one of {@link TestServers}, that a test may crash
 * with {@link #kill()} (SIGKILL to the server and its children) and bring back with {@link
 * #restart()}: the same binaries, command line, port and data directory, so committed data is there
 * again after crash recovery, like a database host that died and came back (or an Aurora writer
 * failing over to the same endpoint).
 *
 * <pre>{@code
 * try (RestartableDatabaseServer server = RestartableDatabaseServer.start(DatabaseKind.MYSQL);
 *     TestDatabase db = server.createDatabase("payments")) {
 *   ... load ...
 *   server.kill();
 *   ... writers fail ...
 *   Duration ready = server.restart();
 * }
 * }</pre>
 *
 * <p>Commits are durable against the crash of the server process (not of the machine): PostgreSQL
 * runs with {@code synchronous_commit=on} (unlike the shared server), InnoDB writes its log to the
 * OS at every commit. So every commit that returned is there after {@link #restart()}.
 *
 * <p>PostgreSQL (embedded), MariaDB (process) and MySQL 8 (process); not external servers or
 * containers, whose processes are not this JVM's to kill. Linux only. Each instance is a few
 * hundred MB of RAM: close it at the end of the test class. Thread-safe.
 */
public final class RestartableDatabaseServer implements DatabaseServer, AutoCloseable {

  private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);

  private final JdbcDatabaseServer admin;
  private final ServerProcess process;
  private final int port;
  private final Runnable beforeRestart;
  private final Runnable afterRestart;
  private final Runnable cleanup;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final TestShutdown.Registration registration;

  private RestartableDatabaseServer(
      JdbcDatabaseServer admin,
      ServerProcess process,
      int port,
      Runnable beforeRestart,
      Runnable afterRestart,
      Runnable cleanup) {
    this.admin = admin;
    this.process = process;
    this.port = port;
    this.beforeRestart = beforeRestart;
    this.afterRestart = afterRestart;
    this.cleanup = cleanup;
    // A test that forgets close() must not leave a server behind when the JVM exits.
    this.registration = TestShutdown.register(admin.description(), this::stop);
  }

  /**
   * Starts a new server of the given product, ready for connections.
   *
   * @param kind {@code POSTGRESQL}, {@code MARIADB} or {@code MYSQL}
   * @throws IllegalArgumentException for H2, which has no server process
   * @throws TestAbortedException when MySQL cannot run here (JUnit reports the test as skipped)
   */
  public static RestartableDatabaseServer start(DatabaseKind kind) {
    FastLane.refuseServer("a restartable " + kind.key() + " server");
    return switch (kind) {
      case POSTGRESQL -> startPostgres();
      case MARIADB -> startMariaDb();
      case MYSQL -> startMySql();
      case H2 ->
          throw new IllegalArgumentException("H2 runs in this JVM: it has no server to kill");
    };
  }

  private static RestartableDatabaseServer startPostgres() {
    try {
      Path data = Files.createTempDirectory("outboxkit-pg-restartable");
      EmbeddedPostgres postgres =
          EmbeddedPostgresLauncher.builder()
              // zonky defaults to synchronous_commit=off: a commit returns before its WAL reaches
              // the OS, and a kill -9 then loses commits the application saw succeed (7 of 1747
              // requests in the first idempotency failover run). fsync=off stays: the OS keeps
              // what was written when only the server process dies.
              .setServerConfig("synchronous_commit", "on")
              .setDataDirectory(data)
              .setCleanDataDirectory(true)
              .start();
      long pid = Long.parseLong(Files.readAllLines(data.resolve("postmaster.pid")).get(0).trim());
      // As root, zonky runs PostgreSQL (which refuses root) in a user namespace; so do we.
      List<String> prefix = MySqlProcess.runningAsRoot() ? List.of("unshare", "-U") : List.of();
      ServerProcess process = ServerProcess.of(pid, prefix, data.resolveSibling(data + ".log"));
      Runnable cleanup =
          () -> {
            try {
              postgres.close(); // pg_ctl stop on the data directory, whichever process runs there
            } catch (IOException e) {
              // The JVM is exiting or the test is over; the directory is temporary.
            }
            process.stopStarted(Duration.ofSeconds(5));
            deleteQuietly(data.resolveSibling(data + ".log"));
          };
      return new RestartableDatabaseServer(
          new JdbcDatabaseServer(
              DatabaseKind.POSTGRESQL,
              "restartable embedded PostgreSQL on port " + postgres.getPort(),
              postgres.getJdbcUrl("postgres", "postgres"),
              "postgres",
              ""),
          process,
          postgres.getPort(),
          // The dead postmaster's pid may linger as a zombie nobody reaps, which PostgreSQL would
          // take for a running server; the process is known dead, so its lock files are stale:
          // the data directory's and the Unix socket's (in /tmp, the binaries' default).
          () -> {
            deleteQuietly(data.resolve("postmaster.pid"));
            deleteQuietly(Path.of("/tmp", ".s.PGSQL." + postgres.getPort() + ".lock"));
            deleteQuietly(Path.of("/tmp", ".s.PGSQL." + postgres.getPort()));
          },
          () -> {},
          cleanup);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start a restartable embedded PostgreSQL", e);
    }
  }

  private static RestartableDatabaseServer startMariaDb() {
    MariaDbLauncher.Started started = MariaDbLauncher.startProcess();
    int port = started.port();
    long pid =
        ProcessHandle.current()
            .descendants()
            .filter(
                p ->
                    p.info()
                        .arguments()
                        .map(a -> List.of(a).contains("--port=" + port))
                        .orElse(false))
            .filter(
                p ->
                    p.info()
                        .command()
                        .map(c -> c.endsWith("mysqld") || c.endsWith("mariadbd"))
                        .orElse(false))
            .findFirst()
            .orElseThrow(
                () -> {
                  started.stopAndDelete();
                  return new IllegalStateException("No MariaDB process found on port " + port);
                })
            .pid();
    ServerProcess process = ServerProcess.of(pid, List.of(), started.run().resolve("restart.log"));
    return new RestartableDatabaseServer(
        new JdbcDatabaseServer(
            DatabaseKind.MARIADB,
            "restartable MariaDB process on port " + port,
            MariaDbLauncher.adminUrl(port),
            "root",
            ""),
        process,
        port,
        () -> {},
        () -> MariaDbLauncher.enablePrivilegeChecks(port),
        () -> {
          process.stopStarted(Duration.ofSeconds(5));
          started.stopAndDelete();
        });
  }

  private static RestartableDatabaseServer startMySql() {
    String unavailable = MySqlLauncher.processUnavailableReason();
    if (unavailable != null) {
      throw new TestAbortedException(MySqlLauncher.unavailableMessage(unavailable));
    }
    CachedMySql cache = new CachedMySql(CachedMySql.defaultCacheDirectory());
    MySqlProcess mysql = MySqlProcess.start(cache.binaries(), cache.template(), 1);
    ServerProcess process =
        ServerProcess.of(mysql.pid(), List.of(), mysql.directory().resolve("restart.log"));
    return new RestartableDatabaseServer(
        new JdbcDatabaseServer(
            DatabaseKind.MYSQL,
            "restartable MySQL 8.0.31 process on port " + mysql.port(),
            mysql.adminUrl(),
            "root",
            ""),
        process,
        mysql.port(),
        () -> {},
        () -> {},
        () -> {
          process.stopStarted(Duration.ofSeconds(5));
          mysql.close();
        });
  }

  /** The TCP port on 127.0.0.1; the same after a restart. */
  public int port() {
    return port;
  }

  /** The server's main process id; a new one after each restart. */
  public long pid() {
    return process.pid();
  }

  /** Whether the server process runs. */
  public boolean running() {
    return process.alive();
  }

  /**
   * Crashes the server: SIGKILL to its main process and all its children at once, no shutdown. Open
   * connections are reset and new ones refused until {@link #restart()}. Returns once no process of
   * the server runs and the port refuses connections.
   */
  public void kill() {
    process.kill();
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (accepts()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("Port " + port + " still accepts connections after kill");
      }
      pause(10);
    }
  }

  /**
   * Starts the server again on the same port and data directory, and waits until it accepts a JDBC
   * connection (crash recovery included).
   *
   * @return how long that took
   * @throws IllegalStateException when it still runs, exits, or is not ready within 120 s
   */
  public Duration restart() {
    if (process.alive()) {
      throw new IllegalStateException(admin.description() + " still runs; kill() it first");
    }
    beforeRestart.run();
    long start = System.nanoTime();
    process.start();
    long deadline = start + READY_TIMEOUT.toNanos();
    SQLException last = null;
    while (System.nanoTime() < deadline) {
      if (!process.alive()) {
        throw new IllegalStateException(
            admin.description() + " exited during restart:\n" + process.logTail(), last);
      }
      try (Connection c =
          DriverManager.getConnection(admin.adminUrl(), admin.username(), adminPassword())) {
        c.isValid(5);
        afterRestart.run();
        return Duration.ofNanos(System.nanoTime() - start);
      } catch (SQLException e) {
        last = e;
      }
      pause(20);
    }
    throw new IllegalStateException(
        admin.description()
            + " not ready "
            + READY_TIMEOUT
            + " after restart:\n"
            + process.logTail(),
        last);
  }

  /** The output of the restarted server so far (for diagnosis). */
  String restartLog() {
    return process.logTail();
  }

  private static String adminPassword() {
    return ""; // every server here has a password-less administrative account
  }

  private boolean accepts() {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public DatabaseKind kind() {
    return admin.kind();
  }

  @Override
  public String description() {
    return admin.description();
  }

  @Override
  public TestDatabase createDatabase(String name) {
    return admin.createDatabase(name);
  }

  @Override
  public void dropDatabase(String name) {
    admin.dropDatabase(name);
  }

  /** Stops the server (cleanly when it runs) and deletes its data directory. */
  @Override
  public void close() {
    stop();
    registration.cancel();
  }

  private void stop() {
    if (closed.compareAndSet(false, true)) {
      cleanup.run();
    }
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted", e);
    }
  }

  private static void deleteQuietly(Path path) {
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      // Temporary; the OS cleans it up eventually.
    }
  }

  @Override
  public String toString() {
    return description();
  }
}
