package dev.outboxkit.chaos;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.relay.spi.TopicRouter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The relay process's side of faults that must happen inside it: the kit creates a file in the
 * relay's control directory ({@link #THROW_ERROR}), a watcher thread sees it, deletes it and arms a
 * one-shot {@link InjectedError} that the next event routed on a publishing thread throws, as an
 * {@code OutOfMemoryError} or a linkage error would. The router is otherwise the relay's default
 * (the aggregate type is the topic).
 */
final class ChaosSignals {

  /** The file whose appearance makes the next publishing thread die. */
  static final String THROW_ERROR = "throw-error";

  /**
   * The file the kit creates just before it freezes the relay (SIGSTOP, {@code pause-relay}): the
   * relay's {@link StarvationWatch} takes the stall it wakes up to as the kit's doing, not as
   * starvation, and deletes the file.
   */
  static final String PAUSED = "paused";

  /** The line a relay prints for each starvation episode; the kit collects them from the logs. */
  static final String STARVED = "CHAOS STARVED";

  /** The error the kit injects: not one the relay can handle and carry on. */
  static final class InjectedError extends Error {
    private static final long serialVersionUID = 1L;

    InjectedError(String threadName) {
      super("injected by the chaos kit (kill-relay-thread) on " + threadName);
    }
  }

  private final Path controlDir;
  private final AtomicBoolean armed = new AtomicBoolean();

  ChaosSignals(Path controlDir) {
    this.controlDir = controlDir;
  }

  /** Starts the watcher (a daemon thread; it polls every 50 ms). */
  void start() {
    Thread watcher = new Thread(this::watch, "chaos-signal-watcher");
    watcher.setDaemon(true);
    watcher.start();
  }

  private void watch() {
    Path trigger = controlDir.resolve(THROW_ERROR);
    while (!Thread.currentThread().isInterrupted()) {
      try {
        if (Files.deleteIfExists(trigger)) {
          armed.set(true);
        }
      } catch (java.io.IOException e) {
        // The kit's file system hiccuped: try again on the next tick.
      }
      Pause.millis(50);
    }
  }

  /** Excuses a stall the kit caused by freezing the process (see {@link #PAUSED}). */
  StarvationWatch.Excuse pausedByKit() {
    Path marker = controlDir.resolve(PAUSED);
    return (from, to) -> {
      try {
        return Files.deleteIfExists(marker);
      } catch (java.io.IOException e) {
        return false;
      }
    };
  }

  /** Marks {@code controlDir} as about to be frozen by the kit (before SIGSTOP). */
  static void markPaused(Path controlDir) {
    try {
      Files.writeString(controlDir.resolve(PAUSED), "");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("Could not mark " + controlDir + " as paused", e);
    }
  }

  /** The relay's topic router: the default one, which throws the armed error once. */
  TopicRouter router() {
    return this::route;
  }

  private String route(OutboxEvent event) {
    String thread = Thread.currentThread().getName();
    // Only a publishing thread (polling loop or CDC engine) dies; the dead-letter copier also asks
    // the router (for a header) and is not the target of this fault.
    if (!thread.contains("dead-letters") && armed.compareAndSet(true, false)) {
      throw new InjectedError(thread);
    }
    return event.aggregateType();
  }
}
