package dev.outboxkit.relay.internal;

import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the death of a relay's long-lived work visible. A periodic job that throws is cancelled by
 * its {@link java.util.concurrent.ScheduledExecutorService} without a word (the throwable is kept
 * in a future nobody reads): a lease heartbeat ended that way leaves the relay RUNNING while its
 * leases lapse. {@link #guard} hands such a throwable to the relay's death handler first, which
 * fails the relay over, and rethrows it (the job is over either way; nothing carries on as if it
 * had not happened). The jobs handle their expected failures (a database or broker error) inside;
 * what reaches the guard is a bug or an {@link Error}.
 */
public final class ThreadDeaths {

  private static final Logger log = LoggerFactory.getLogger(ThreadDeaths.class);

  private ThreadDeaths() {}

  /** {@code job}, reporting a throwable that ends it to {@code died} before it is rethrown. */
  public static Runnable guard(Runnable job, BiConsumer<Thread, Throwable> died) {
    return () -> {
      try {
        job.run();
      } catch (RuntimeException | Error e) {
        died.accept(Thread.currentThread(), e);
        throw e;
      }
    };
  }

  /**
   * Runs {@code failOver} on a thread of its own named {@code name}, so that the dying thread's
   * trouble (its executor being shut down, a connection it cannot get) does not stop it; when no
   * thread can be started (memory ran out), on the caller's thread instead.
   */
  public static void failOverOnNewThread(String name, Runnable failOver) {
    Thread thread = new Thread(failOver, name);
    thread.setDaemon(true);
    try {
      thread.start();
    } catch (OutOfMemoryError e) {
      log.error("Could not start thread {}; failing over on the dying thread", name, e);
      failOver.run();
    }
  }
}
