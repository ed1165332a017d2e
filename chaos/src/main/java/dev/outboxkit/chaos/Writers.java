package dev.outboxkit.chaos;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The application under test: writer threads that commit events for their own keys ({@code key-k}
 * belongs to writer {@code k mod writers}), several keys per transaction, each key's events
 * numbered 0, 1, 2... in the payload ({@code "<n>:<key>"}). The rate is shared evenly. A failed
 * commit (the faults make many) is recorded as in doubt and its numbers are never reused; the
 * writer pauses briefly and goes on. A transaction the database rolled back by itself (a deadlock,
 * a serialization failure, a lock wait timeout) is counted apart ({@link #rolledBack()}): no fault
 * makes one, since the writers share no rows, so only the relay's locks can, and the relay must
 * never fail the application's transaction.
 */
final class Writers implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Writers.class);
  private static final int KEYS_PER_TRANSACTION = 10;

  private final ChaosConfig config;
  private final JdbcTransactions transactions;
  private final Outbox outbox;
  private final String topic;
  private final Ledger ledger;
  private final Clock clock;
  private final @Nullable KeyClaims claims;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong rolledBack = new AtomicLong();
  private final List<String> rollbackExamples = new ArrayList<>();
  private final List<Thread> threads = new ArrayList<>();

  Writers(
      ChaosConfig config,
      JdbcTransactions transactions,
      Outbox outbox,
      String topic,
      Ledger ledger,
      Clock clock,
      @Nullable KeyClaims claims) {
    this.config = config;
    this.transactions = transactions;
    this.outbox = outbox;
    this.topic = topic;
    this.ledger = ledger;
    this.clock = clock;
    this.claims = claims;
  }

  void start() {
    for (int w = 0; w < config.writers(); w++) {
      int writer = w;
      Thread thread = new Thread(() -> write(writer), "chaos-writer-" + w);
      thread.setDaemon(true);
      threads.add(thread);
      thread.start();
    }
  }

  private void write(int writer) {
    List<String> keys = new ArrayList<>();
    for (int k = writer; k < config.keys(); k += config.writers()) {
      keys.add("key-" + k);
    }
    if (keys.isEmpty()) {
      return;
    }
    KeyClaims.@Nullable Rotation rotation =
        claims == null ? null : claims.forWriter(writer, config.seed());
    int[] next = new int[keys.size()];
    double perSecond = (double) config.rate() / config.writers();
    long started = System.nanoTime();
    long written = 0;
    int cursor = 0;
    while (running.get()) {
      int size = Math.min(KEYS_PER_TRANSACTION, keys.size());
      List<OutboxMessage> messages = new ArrayList<>(size);
      List<String> batchKeys = new ArrayList<>(size);
      List<Integer> numbers = new ArrayList<>(size);
      for (int i = 0; i < size; i++) {
        int index = (cursor + i) % keys.size();
        String key = keys.get(index);
        int n = next[index]++;
        batchKeys.add(key);
        numbers.add(n);
        messages.add(OutboxMessage.of(topic, key, "ChaosCounted", n + ":" + key));
      }
      cursor = (cursor + size) % keys.size();
      try {
        List<OutboxEvent> events =
            transactions.inTransaction(
                c -> {
                  if (rotation != null) {
                    rotation.claimNext();
                  }
                  return outbox.appendAll(messages);
                });
        long now = clock.millis();
        for (int i = 0; i < size; i++) {
          ledger.committed(batchKeys.get(i), numbers.get(i), events.get(i).partition(), now);
        }
      } catch (RuntimeException e) {
        long now = clock.millis();
        for (int i = 0; i < size; i++) {
          ledger.inDoubt(batchKeys.get(i), numbers.get(i), now);
        }
        String rollback = rollbackByTheDatabase(e);
        if (rollback != null) {
          rolledBack.incrementAndGet();
          synchronized (rollbackExamples) {
            if (rollbackExamples.size() < 3) {
              rollbackExamples.add("writer " + writer + " at " + now + ": " + rollback);
            }
          }
          log.warn("Writer {}: the database rolled the transaction back: {}", writer, rollback);
        }
        if (failures.incrementAndGet() % 50 == 1) {
          log.info("Writer {}: a commit failed (in doubt), going on: {}", writer, e.toString());
        }
        Pause.millis(100);
      }
      written += size;
      long due = started + (long) (written / perSecond * 1e9);
      long wait = due - System.nanoTime();
      if (wait > 0) {
        Pause.millis(Math.max(1, wait / 1_000_000));
      }
    }
  }

  /** Commits that failed: their events are in doubt. */
  long failures() {
    return failures.get();
  }

  /** Transactions the database rolled back by itself (see the class comment). */
  long rolledBack() {
    return rolledBack.get();
  }

  /** Up to three of {@link #rolledBack()}, with the database's message. */
  List<String> rollbackExamples() {
    synchronized (rollbackExamples) {
      return List.copyOf(rollbackExamples);
    }
  }

  /**
   * The database's message when it rolled the transaction back by itself: SQL state class 40
   * (transaction rollback: a deadlock, a serialization failure; MySQL and MariaDB report a deadlock
   * as 40001), or MySQL's and MariaDB's lock wait timeout (error 1205, SQL state HY000). A lost
   * connection or a killed session (class 08, 57, 70100) is a fault's doing and is not one.
   */
  static @Nullable String rollbackByTheDatabase(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof SQLException e) {
        String state = e.getSQLState();
        if ((state != null && state.startsWith("40")) || e.getErrorCode() == 1205) {
          return "SQL state " + state + ", error " + e.getErrorCode() + ": " + e.getMessage();
        }
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return null;
  }

  /** Stops the writers after their transaction under way. */
  @Override
  public void close() {
    running.set(false);
    for (Thread thread : threads) {
      try {
        thread.join(60_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
