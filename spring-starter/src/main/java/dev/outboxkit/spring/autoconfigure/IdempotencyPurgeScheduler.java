package dev.outboxkit.spring.autoconfigure;

import dev.outboxkit.idempotency.IdempotencyPurger;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Runs the {@link IdempotencyPurger} on a schedule, on one named daemon thread, started and stopped
 * with the application context. A failed purge is logged and retried at the next interval; an
 * {@link Error} is counted by the purger, logged at ERROR and ends the schedule.
 */
final class IdempotencyPurgeScheduler implements SmartLifecycle {

  private static final Logger log = LoggerFactory.getLogger(IdempotencyPurgeScheduler.class);

  private final IdempotencyPurger purger;
  private final Duration interval;
  private @Nullable ScheduledExecutorService executor;

  IdempotencyPurgeScheduler(IdempotencyPurger purger, Duration interval) {
    this.purger = purger;
    this.interval = interval;
  }

  @Override
  public synchronized void start() {
    if (executor != null) {
      return;
    }
    executor =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "outboxkit-idempotency-purge");
              thread.setDaemon(true);
              return thread;
            });
    long millis = interval.toMillis();
    executor.scheduleWithFixedDelay(this::purge, millis, millis, TimeUnit.MILLISECONDS);
  }

  private void purge() {
    try {
      int deleted = purger.purgeExpired();
      if (deleted > 0) {
        log.debug("Purged {} expired idempotency keys and inbox entries", deleted);
      }
    } catch (RuntimeException e) {
      log.warn("Purging expired idempotency keys failed; retrying in {}", interval, e);
    } catch (Error e) {
      // Not carried on from: the executor ends the schedule. The purger counted it in
      // idempotency.purge.failures (IdempotencyPurgeFailing); say here that purging has stopped.
      log.error(
          "Purging expired idempotency keys ended by an error; purging stops until a restart", e);
      throw e;
    }
  }

  @Override
  public synchronized void stop() {
    if (executor != null) {
      executor.shutdownNow();
      try {
        executor.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      executor = null;
    }
  }

  @Override
  public synchronized boolean isRunning() {
    return executor != null;
  }
}
