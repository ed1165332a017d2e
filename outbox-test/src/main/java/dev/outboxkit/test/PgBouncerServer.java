package dev.outboxkit.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.opentest4j.TestAbortedException;

/**
 * PgBouncer in transaction pooling mode in front of {@link TestServers#postgres()}: the set-up of
 * many production PostgreSQL deployments, where each transaction may run on another server
 * connection, so nothing may outlive a transaction (server-side prepared statements, session
 * settings, {@code LISTEN}).
 *
 * <p>Runs the Debian {@code pgbouncer} binary (1.18) found on the {@code PATH} or in {@code
 * /usr/sbin}; PgBouncer refuses to run as root, so as root it is started with {@code -u nobody}.
 * Its configuration and auth file live in a temporary directory. One per JVM, stopped by its pid
 * when the JVM exits. Without the binary, {@link #get()} aborts (skips) the calling test with a
 * message naming the package.
 */
public final class PgBouncerServer {

  private static final Pattern DATABASE = Pattern.compile("(jdbc:postgresql://)[^/]+/([^?]+).*");
  private static @Nullable PgBouncerServer instance;

  private final Process process;
  private final int port;

  private PgBouncerServer(Process process, int port) {
    this.process = process;
    this.port = port;
  }

  /** The PgBouncer of this JVM, started on first call. */
  public static synchronized PgBouncerServer get() {
    FastLane.refuseServer("PgBouncer");
    if (instance == null) {
      String reason = unavailableReason();
      if (reason != null) {
        throw new TestAbortedException(reason);
      }
      instance = start(TestServers.postgres());
    }
    return instance;
  }

  /** Why PgBouncer cannot run here, or {@code null}. */
  public static @Nullable String unavailableReason() {
    return binary() == null
        ? "PgBouncer tests skipped: no pgbouncer binary on the PATH or in /usr/sbin. Install the"
            + " Debian package pgbouncer (apt-get install pgbouncer)."
        : null;
  }

  private static @Nullable Path binary() {
    List<Path> candidates = new ArrayList<>();
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!dir.isBlank()) {
        candidates.add(Path.of(dir, "pgbouncer"));
      }
    }
    candidates.add(Path.of("/usr/sbin/pgbouncer"));
    return candidates.stream().filter(Files::isExecutable).findFirst().orElse(null);
  }

  private static PgBouncerServer start(DatabaseServer postgres) {
    if (!(postgres instanceof JdbcDatabaseServer server)) {
      throw new IllegalStateException("PgBouncer needs a PostgreSQL reached over JDBC");
    }
    Matcher url =
        Pattern.compile("jdbc:postgresql://([^:/]+):(\\d+)/.*").matcher(server.adminUrl());
    if (!url.matches()) {
      throw new IllegalStateException("Cannot read host and port of " + server.adminUrl());
    }
    try {
      Path dir = Files.createTempDirectory("outboxkit-pgbouncer");
      // PgBouncer drops root for 'nobody', who must still read its files.
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
      Path auth = dir.resolve("userlist.txt");
      Files.writeString(auth, "\"" + server.username() + "\" \"\"\n");
      int port = freePort();
      Path ini = dir.resolve("pgbouncer.ini");
      Files.writeString(
          ini,
          String.join(
              "\n",
              "[databases]",
              // Every database name maps to the same name on the embedded server.
              "* = host=" + url.group(1) + " port=" + url.group(2) + " user=" + server.username(),
              "[pgbouncer]",
              "listen_addr = 127.0.0.1",
              "listen_port = " + port,
              "unix_socket_dir =",
              "auth_type = trust",
              "auth_file = " + auth,
              "admin_users = " + server.username(),
              "pool_mode = transaction",
              "max_client_conn = 500",
              "default_pool_size = 40",
              "server_reset_query =",
              "ignore_startup_parameters = extra_float_digits,options",
              "log_connections = 0",
              "log_disconnections = 0",
              ""));
      for (Path file : List.of(auth, ini)) {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
      }
      List<String> command = new ArrayList<>();
      command.add(String.valueOf(binary()));
      if ("root".equals(System.getProperty("user.name"))) {
        command.add("-u");
        command.add("nobody");
      }
      command.add(ini.toString());
      Path log = dir.resolve("pgbouncer.log");
      Process process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      awaitListening(process, port, log);
      PgBouncerServer bouncer = new PgBouncerServer(process, port);
      TestShutdown.register(
          bouncer.toString(),
          () -> {
            bouncer.stop();
            try {
              CachedMariaDb.deleteRecursively(dir);
            } catch (IOException e) {
              // A temporary directory.
            }
          });
      return bouncer;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start PgBouncer", e);
    }
  }

  private static void awaitListening(Process process, int port, Path log) throws IOException {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "pgbouncer exited with " + process.exitValue() + ":\n" + Files.readString(log));
      }
      try (Socket ignored = new Socket(InetAddress.getLoopbackAddress(), port)) {
        return;
      } catch (IOException notYet) {
        try {
          Thread.sleep(20);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          process.destroyForcibly();
          throw new IllegalStateException("Interrupted while starting PgBouncer", e);
        }
      }
    }
    process.destroyForcibly();
    throw new IllegalStateException("pgbouncer did not listen in 20 s:\n" + Files.readString(log));
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  /** The port PgBouncer listens on (127.0.0.1). */
  public int port() {
    return port;
  }

  /**
   * A JDBC URL that reaches {@code database} through PgBouncer, with {@code prepareThreshold=0}:
   * pgjdbc then never names server-side prepared statements, which transaction pooling cannot keep
   * (a later transaction may run on another server connection).
   */
  public String jdbcUrl(TestDatabase database) {
    return jdbcUrlKeepingPreparedStatements(database) + "?prepareThreshold=0";
  }

  /**
   * The same URL with pgjdbc's default {@code prepareThreshold} (5): a statement run five times on
   * one connection becomes a named server-side prepared statement, which PgBouncer 1.18 in
   * transaction mode does not track.
   */
  public String jdbcUrlKeepingPreparedStatements(TestDatabase database) {
    Matcher matcher = DATABASE.matcher(database.jdbcUrl());
    if (!matcher.matches()) {
      throw new IllegalArgumentException("Not a PostgreSQL database: " + database);
    }
    return matcher.group(1) + "127.0.0.1:" + port + "/" + matcher.group(2);
  }

  private void stop() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "PgBouncer 1.18 (transaction pooling) on 127.0.0.1:" + port;
  }
}
