package dev.outboxkit.test;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.utils.Exit;
import org.jspecify.annotations.Nullable;

/**
 * The one JVM shutdown hook of the test servers: it stops them one after another, the last started
 * first, and writes each stop with its duration to a log file.
 *
 * <p>Why one hook: the JVM runs shutdown hooks concurrently and in no fixed order. With a hook per
 * server, the in-JVM Kafka broker's directory was deleted by Kafka's own temp-directory hook while
 * the broker still ran; the broker's next checkpoint then failed, it found all its log dirs offline
 * and called {@code Exit.halt(1)}: the test JVM ended with status 1 after every test had passed,
 * which surefire reports as "Error occurred in starting fork, check output in log" with nothing in
 * the output, because the fork's output channel is closed by then. So the log goes to a file:
 * {@code outboxkit.test.shutdown-log} (the build sets {@code target/outboxkit-test-shutdown.log}),
 * else {@code java.io.tmpdir/outboxkit-test-shutdown.log}, one per JVM (rewritten by the next).
 *
 * <p>While the hook runs, a Kafka {@code Exit.exit}/{@code Exit.halt} request (a broker fault
 * during teardown, when every test is over) is written to the log with its stack and otherwise
 * ignored, so it cannot turn a green run red; before that, {@link #recordKafkaExits()} writes such
 * a request down and then exits or halts as Kafka would.
 */
final class TestShutdown {

  static final String LOG_PROPERTY = "outboxkit.test.shutdown-log";

  private static final TestShutdown JVM = new TestShutdown(logFile(), true);

  private final Path log;
  private final boolean jvmHook;
  private final List<Registration> registrations = new ArrayList<>(); // guarded by this
  private boolean hookAdded; // guarded by this
  private volatile boolean stopping;
  private boolean logStarted; // guarded by writeLock
  private final Object writeLock = new Object();

  TestShutdown(Path log, boolean jvmHook) {
    this.log = log;
    this.jvmHook = jvmHook;
  }

  /** A stop action of a server; {@link #cancel()} when the server was stopped before. */
  final class Registration {
    private final String name;
    private final Runnable stop;

    private Registration(String name, Runnable stop) {
      this.name = name;
      this.stop = stop;
    }

    /** Removes the action (the server was closed by its test); does nothing once stopping. */
    void cancel() {
      synchronized (TestShutdown.this) {
        registrations.remove(this);
      }
    }
  }

  /**
   * Registers a stop action with the JVM's hook.
   *
   * @param name what stops, for the log
   * @param stop stops the server and deletes its files; may throw (logged, the others still run)
   */
  static Registration register(String name, Runnable stop) {
    return JVM.add(name, stop);
  }

  /** Whether the JVM's shutdown hook runs. */
  static boolean stopping() {
    return JVM.stopping;
  }

  /**
   * Makes a Kafka {@code Exit.exit}/{@code Exit.halt} leave a line and a stack in the log before it
   * takes effect (as Kafka's default: {@code System.exit}, {@code Runtime.halt}); while the hook
   * runs, the request is only logged.
   */
  static void recordKafkaExits() {
    JVM.installKafkaExits(false);
  }

  synchronized Registration add(String name, Runnable stop) {
    if (stopping) {
      throw new IllegalStateException("The JVM is exiting; cannot register " + name);
    }
    if (jvmHook && !hookAdded) {
      Runtime.getRuntime().addShutdownHook(new Thread(this::stopAll, "outboxkit-test-shutdown"));
      hookAdded = true;
    }
    Registration registration = new Registration(name, stop);
    registrations.add(registration);
    record("started " + name);
    return registration;
  }

  /** Runs every registered stop action, the last registered first; never throws. */
  void stopAll() {
    List<Registration> toStop;
    synchronized (this) {
      stopping = true;
      toStop = new ArrayList<>(registrations);
      registrations.clear();
    }
    if (jvmHook) {
      installKafkaExits(true); // the JVM's servers only: Kafka's Exit is global
    }
    long start = System.nanoTime();
    record("JVM exiting: stopping " + toStop.size() + " test server(s), the last started first");
    for (int i = toStop.size() - 1; i >= 0; i--) {
      Registration registration = toStop.get(i);
      long begin = System.nanoTime();
      record("stopping " + registration.name);
      try {
        registration.stop.run();
        record("stopped " + registration.name + " in " + millisSince(begin) + " ms");
      } catch (RuntimeException e) {
        record(
            "FAILED to stop "
                + registration.name
                + " after "
                + millisSince(begin)
                + " ms: "
                + stackOf(e));
      }
    }
    record("all test servers stopped in " + millisSince(start) + " ms");
  }

  private void installKafkaExits(boolean shuttingDown) {
    Exit.setExitProcedure(
        (status, message) -> {
          record(
              "Kafka called Exit.exit("
                  + status
                  + ")"
                  + (shuttingDown ? " during shutdown, ignored: " : ": ")
                  + stackOf(new Throwable(String.valueOf(message))));
          if (!shuttingDown) {
            System.exit(status);
          }
        });
    Exit.setHaltProcedure(
        (status, message) -> {
          record(
              "Kafka called Exit.halt("
                  + status
                  + ")"
                  + (shuttingDown ? " during shutdown, ignored: " : ": ")
                  + stackOf(new Throwable(String.valueOf(message))));
          if (!shuttingDown) {
            Runtime.getRuntime().halt(status);
          }
        });
  }

  /** Appends a line to the log at once (a halt may follow); the first line of a JVM truncates. */
  void record(String line) {
    String text =
        Instant.now()
            + " ["
            + Thread.currentThread().getName()
            + "] "
            + line
            + System.lineSeparator();
    synchronized (writeLock) {
      try {
        Path parent = log.toAbsolutePath().getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        if (logStarted) {
          Files.writeString(log, text, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        } else {
          Files.writeString(
              log,
              "JVM " + ProcessHandle.current().pid() + System.lineSeparator() + text,
              StandardCharsets.UTF_8,
              StandardOpenOption.CREATE,
              StandardOpenOption.TRUNCATE_EXISTING,
              StandardOpenOption.WRITE);
          logStarted = true;
        }
      } catch (IOException e) {
        // Diagnostics only: a test run must not fail because its log cannot be written.
      }
    }
  }

  Path log() {
    return log;
  }

  private static Path logFile() {
    @Nullable String configured = System.getProperty(LOG_PROPERTY);
    return configured != null && !configured.isBlank()
        ? Path.of(configured)
        : Path.of(System.getProperty("java.io.tmpdir"), "outboxkit-test-shutdown.log");
  }

  private static long millisSince(long nanos) {
    return (System.nanoTime() - nanos) / 1_000_000;
  }

  private static String stackOf(Throwable t) {
    StringWriter text = new StringWriter();
    t.printStackTrace(new PrintWriter(text));
    return text.toString();
  }
}
