package dev.outboxkit.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * One {@code mysqld} process: its own copy of the template data directory, a free port on
 * 127.0.0.1, a row-based binlog, no X protocol. {@link #close()} stops it by its pid (SIGTERM, a
 * clean shutdown, then SIGKILL after 5 s) and deletes its directory.
 */
final class MySqlProcess implements AutoCloseable {

  /** Options that make InnoDB fast and non-durable: test data need not survive a power cut. */
  static final List<String> FAST_INNODB =
      List.of(
          "--innodb-redo-log-capacity=8M",
          "--innodb-flush-method=nosync",
          "--innodb-doublewrite=0");

  private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
  private static final String READY = "ready for connections";
  private static final String PORT_IN_USE = "Do you already have another mysqld server running";

  private final Process process;
  private final Path directory;
  private final int port;

  private MySqlProcess(Process process, Path directory, int port) {
    this.process = process;
    this.directory = directory;
    this.port = port;
  }

  static boolean runningAsRoot() {
    return "root".equals(System.getProperty("user.name"));
  }

  /**
   * Starts a server on a copy of {@code template}, in a new temporary directory, and waits until it
   * accepts connections.
   */
  static MySqlProcess start(Path base, Path template, int serverId) {
    return start(base, template, serverId, List.of());
  }

  /** As {@link #start(Path, Path, int)}, with further server options, given last so they win. */
  static MySqlProcess start(Path base, Path template, int serverId, List<String> options) {
    Path directory;
    try {
      directory = Files.createTempDirectory("outboxkit-mysql");
      CachedMariaDb.copyRecursively(template, directory.resolve("data"));
      Files.createDirectories(directory.resolve("tmp"));
    } catch (IOException e) {
      throw new UncheckedIOException("Could not prepare a MySQL data directory", e);
    }
    // A free port can be taken by someone else before mysqld binds it; then try another.
    for (int attempt = 1; ; attempt++) {
      int port = freePort();
      Path log = directory.resolve("mysqld-" + attempt + ".err");
      Process process = launch(base, directory, port, serverId, log, options);
      String outcome = awaitReady(process, log);
      if (outcome == null) {
        return new MySqlProcess(process, directory, port);
      }
      stop(process);
      if (!outcome.contains(PORT_IN_USE) || attempt == 3) {
        deleteQuietly(directory);
        throw new IllegalStateException("mysqld did not start (log " + log + "):\n" + outcome);
      }
    }
  }

  private static Process launch(
      Path base, Path directory, int port, int serverId, Path log, List<String> options) {
    List<String> command = new ArrayList<>();
    command.add(base.resolve("bin/mysqld").toString());
    command.add("--no-defaults");
    if (runningAsRoot()) {
      command.add("--user=root");
    }
    command.add("--basedir=" + base);
    command.add("--datadir=" + directory.resolve("data"));
    command.add("--tmpdir=" + directory.resolve("tmp"));
    command.add("--port=" + port);
    command.add("--bind-address=127.0.0.1");
    command.add("--socket=" + directory.resolve("mysqld.sock"));
    command.add("--pid-file=" + directory.resolve("mysqld.pid"));
    command.add("--mysqlx=OFF");
    command.add("--log-bin=" + directory.resolve("data").resolve("binlog"));
    command.add("--binlog-format=ROW");
    command.add("--server-id=" + serverId);
    command.add("--max-connections=300");
    command.add("--innodb-flush-log-at-trx-commit=2");
    command.add("--sync-binlog=0");
    command.add("--character-set-server=utf8mb4");
    command.add("--log-error=" + log);
    command.addAll(FAST_INNODB);
    command.addAll(options);
    try {
      return new ProcessBuilder(command)
          .directory(directory.toFile())
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException("Could not run " + command.get(0), e);
    }
  }

  /** {@code null} once the server is ready, else the log of a server that exited or hung. */
  private static @Nullable String awaitReady(Process process, Path log) {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      String text = read(log);
      if (text.contains(READY)) {
        return null;
      }
      if (!process.isAlive()) {
        return "exit code " + process.exitValue() + "\n" + read(log);
      }
      try {
        Thread.sleep(25);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.destroyForcibly();
        throw new IllegalStateException("Interrupted while waiting for mysqld", e);
      }
    }
    return "not ready after " + READY_TIMEOUT.toSeconds() + " s\n" + read(log);
  }

  private static String read(Path log) {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException e) {
      return "";
    }
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("No free local port for MySQL", e);
    }
  }

  int port() {
    return port;
  }

  long pid() {
    return process.pid();
  }

  Path directory() {
    return directory;
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** A JDBC URL of the {@code mysql} database for root, who has no password. */
  String adminUrl() {
    return "jdbc:mysql://127.0.0.1:" + port + "/mysql";
  }

  @Override
  public void close() {
    stop(process);
    deleteQuietly(directory);
  }

  private static void stop(Process process) {
    // destroy() sends SIGTERM to this pid: mysqld shuts down cleanly. The data is thrown away, so
    // it gets 5 s, not more: this often runs in the shutdown hook, and surefire halts a test JVM
    // whose exit takes longer than its fork exit timeout, cutting the other stops short.
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  private static void deleteQuietly(Path directory) {
    try {
      CachedMariaDb.deleteRecursively(directory);
    } catch (IOException e) {
      // A temporary directory; the OS cleans it up eventually.
    }
  }

  @Override
  public String toString() {
    return "MySQL process " + pid() + " on port " + port + " (data in " + directory + ")";
  }
}
