package dev.outboxkit.relay.internal.polling;

import java.time.Duration;

/**
 * How many publishing threads should read, judged from what the reads find: one more (up to {@code
 * max}) once reads have come back full for {@code growAfter} without a break (a backlog the threads
 * at work do not keep up with), one fewer once no read has come back full for {@code idleAfter}
 * (the outbox keeps up). Between two changes at least the same time passes, so one burst adds or
 * removes one thread, not all of them. A read is full when a partition had more rows than it asked
 * for; a read cut short by the byte budget is not (more threads would not read more bytes).
 *
 * <p>Pure: the caller passes the monotonic time, so tests drive it without waiting. Not
 * thread-safe; {@link PublishSlots} calls it under its lock.
 */
final class ThreadScaling {

  /** Reads full for this long add a thread: a few batches, long enough to skip a single burst. */
  static final Duration GROW_AFTER = Duration.ofMillis(100);

  /**
   * No full read for this long gives a thread back. Longer than the idle poll's longest wait (1 s
   * by default), so a short pause in the arrivals does not shrink and regrow the pool.
   */
  static final Duration IDLE_AFTER = Duration.ofSeconds(5);

  private final int max;
  private final long growAfterNanos;
  private final long idleAfterNanos;

  /** Start of the current run of full reads; meaningful while {@link #inRun}. */
  private long runSince;

  private boolean inRun;
  private long lastFull;
  private long lastChange;

  ThreadScaling(int max, Duration growAfter, Duration idleAfter, long nowNanos) {
    if (max < 1) {
      throw new IllegalArgumentException("max threads must be at least 1 but was " + max);
    }
    this.max = max;
    this.growAfterNanos = growAfter.toNanos();
    this.idleAfterNanos = idleAfter.toNanos();
    this.lastFull = nowNanos;
    this.lastChange = nowNanos;
  }

  /** The most threads this allows. */
  int max() {
    return max;
  }

  /**
   * Records a read at {@code nowNanos} and returns how many threads should read from now on, given
   * that {@code active} do.
   */
  int afterRead(int active, boolean full, long nowNanos) {
    if (full) {
      lastFull = nowNanos;
      if (!inRun) {
        inRun = true;
        runSince = nowNanos;
      }
      if (active < max
          && nowNanos - runSince >= growAfterNanos
          && nowNanos - lastChange >= growAfterNanos) {
        return changed(active + 1, nowNanos);
      }
      return active;
    }
    inRun = false;
    if (active > 1
        && nowNanos - lastFull >= idleAfterNanos
        && nowNanos - lastChange >= idleAfterNanos) {
      return changed(active - 1, nowNanos);
    }
    return active;
  }

  private int changed(int threads, long nowNanos) {
    lastChange = nowNanos;
    // The next thread must earn its own run of full reads.
    runSince = nowNanos;
    return threads;
  }
}
