package dev.outboxkit.benchmarks;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * An open-loop writer for latency runs at rates one thread committing one event per transaction
 * cannot reach: event {@code i} is due at {@code start + i / rate}, whether or not earlier events
 * are written yet; {@code writers} threads each take the events that are due (at most {@code
 * perTransaction} at once) and write them in one transaction. Each event's payload starts with its
 * number (8 bytes), so that a consumer can find when it was due ({@link #dueNanos}) and when its
 * transaction's commit returned ({@link #committedNanos}): latency measured from the schedule
 * includes the writers' queueing when they fall behind (no coordinated omission), latency from the
 * commit is the relay's share.
 */
final class OpenLoopWriter implements AutoCloseable {

  /** Writes the events {@code first .. first + payloads.size() - 1} in one transaction. */
  interface Transaction {
    void write(long first, List<byte[]> payloads) throws Exception;
  }

  private final long start = System.nanoTime();
  private final int rate;
  private final int perTransaction;
  private final byte[] template;
  private final Transaction transaction;
  private final AtomicLong next = new AtomicLong();
  private final AtomicLongArray committed;
  private final AtomicLong failures = new AtomicLong();
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean running = true;

  /**
   * @param capacity the most events written (the writers stop there)
   */
  OpenLoopWriter(
      int rate,
      int writers,
      int perTransaction,
      int capacity,
      byte[] template,
      Transaction transaction) {
    if (template.length < Long.BYTES) {
      throw new IllegalArgumentException(
          "payload of at least 8 bytes needed, not " + template.length);
    }
    this.rate = rate;
    this.perTransaction = perTransaction;
    this.template = template;
    this.transaction = transaction;
    this.committed = new AtomicLongArray(capacity);
    for (int i = 0; i < writers; i++) {
      Thread thread = new Thread(this::run, "open-loop-writer-" + i);
      thread.setDaemon(true);
      threads.add(thread);
      thread.start();
    }
  }

  /** When event {@code index} was due (System.nanoTime()). */
  long dueNanos(long index) {
    return start + index * 1_000_000_000L / rate;
  }

  /** When the commit of event {@code index} returned (System.nanoTime()), or 0 not yet. */
  long committedNanos(long index) {
    return index < committed.length() ? committed.get((int) index) : 0;
  }

  /** The event number in a payload written by this writer. */
  static long index(byte[] payload) {
    return ByteBuffer.wrap(payload).getLong(0);
  }

  /** Events taken by the writers so far (written or being written). */
  long taken() {
    return Math.min(next.get(), committed.length());
  }

  /** Transactions that failed (their events are never written). */
  long failures() {
    return failures.get();
  }

  private void run() {
    while (running) {
      long due = (System.nanoTime() - start) * rate / 1_000_000_000L + 1;
      long first = next.get();
      if (first >= committed.length()) {
        return;
      }
      if (first >= due) {
        LockSupport.parkNanos(Math.max(1_000, dueNanos(first) - System.nanoTime()));
        continue;
      }
      int n = (int) Math.min(Math.min(perTransaction, due - first), committed.length() - first);
      if (!next.compareAndSet(first, first + n)) {
        continue;
      }
      List<byte[]> payloads = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        byte[] payload = template.clone();
        ByteBuffer.wrap(payload).putLong(0, first + i);
        payloads.add(payload);
      }
      try {
        transaction.write(first, payloads);
        long now = System.nanoTime();
        for (int i = 0; i < n; i++) {
          committed.set((int) first + i, now);
        }
      } catch (Exception e) {
        failures.incrementAndGet();
        if (running) {
          System.err.println("open-loop writer: transaction failed: " + e);
        }
      }
    }
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    for (Thread thread : threads) {
      thread.join(10_000);
    }
  }
}
