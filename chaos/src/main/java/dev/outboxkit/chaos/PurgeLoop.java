package dev.outboxkit.chaos;

import dev.outboxkit.idempotency.IdempotencyDefaults;
import dev.outboxkit.idempotency.IdempotencyPurger;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The application's housekeeping: a thread that purges expired idempotency keys and inbox entries
 * ({@link IdempotencyPurger#purgeExpired()}, one batch of {@link KeyLoad#purgeBatchSize()} per
 * table) every {@link KeyLoad#purgeInterval()}, while the writers hold their keys ({@link
 * KeyClaims}). A purge that fails (a fault killed its session or restarted the database) is logged
 * and counted, and the next one goes on: that is not a violation. What is: a purge that deadlocks
 * with a writer and makes the database roll the writer back, which the writers count; and a purge
 * the database rolled back by itself ({@link #rolledBack()}: a deadlock or a lock wait timeout,
 * which no fault makes), since the purge must never wait for a row (PostgreSQL breaks such a cycle
 * by rolling back the purge, the first to wait, where InnoDB rolls back the lighter side).
 */
final class PurgeLoop implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(PurgeLoop.class);

  private final KeyLoad load;
  private final IdempotencyPurger purger;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final AtomicLong runs = new AtomicLong();
  private final AtomicLong purged = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong rolledBack = new AtomicLong();
  private final List<String> rollbackExamples = new ArrayList<>();
  private final List<String> otherExamples = new ArrayList<>();
  private final Thread thread;

  PurgeLoop(KeyLoad load, DataSource dataSource, OutboxDialect dialect, Clock clock) {
    this.load = load;
    this.purger =
        new IdempotencyPurger(
            dataSource,
            dialect,
            OutboxTable.of(IdempotencyDefaults.KEY_TABLE),
            OutboxTable.of(IdempotencyDefaults.INBOX_TABLE),
            load.purgeBatchSize(),
            1,
            clock,
            new SimpleMeterRegistry());
    this.thread = new Thread(this::loop, "chaos-purger");
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  private void loop() {
    while (running.get()) {
      try {
        Pause.of(load.purgeInterval());
      } catch (IllegalStateException interrupted) {
        return;
      }
      purgeOnce();
    }
  }

  /** One purge, counted. */
  void purgeOnce() {
    runs.incrementAndGet();
    try {
      purged.addAndGet(purger.purgeExpired());
    } catch (RuntimeException e) {
      long n = failures.incrementAndGet();
      String cause = Writers.rollbackByTheDatabase(e);
      if (cause != null) {
        rolledBack.incrementAndGet();
      }
      // The table and the database's message, with its SQL state and error when it rolled the
      // purge back; on one line (PostgreSQL's deadlock report has a line per process).
      String line =
          cause == null
              ? e.toString()
              : e.getMessage() + " (" + cause.substring(0, cause.indexOf(": ")) + ")";
      line = line.replace('\n', ' ');
      List<String> examples = cause != null ? rollbackExamples : otherExamples;
      synchronized (examples) {
        if (examples.size() < 3) {
          examples.add(line);
        }
      }
      if (n % 20 == 1) {
        log.info("Purge {} failed (failure {}), going on: {}", runs.get(), n, line);
      }
    }
  }

  long runs() {
    return runs.get();
  }

  long purged() {
    return purged.get();
  }

  long failures() {
    return failures.get();
  }

  /** Purges of {@link #failures()} the database rolled back by itself (a deadlock, a timeout). */
  long rolledBack() {
    return rolledBack.get();
  }

  /** Up to three failures the database rolled back, then up to three others. */
  List<String> failureExamples() {
    List<String> all = new ArrayList<>();
    synchronized (rollbackExamples) {
      all.addAll(rollbackExamples);
    }
    synchronized (otherExamples) {
      all.addAll(otherExamples);
    }
    return all;
  }

  /** Stops after the purge under way. */
  @Override
  public void close() {
    running.set(false);
    try {
      thread.join(30_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
