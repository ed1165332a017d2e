package dev.outboxkit.chaos;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Notices when the JVM it runs in could not run: a daemon thread sleeps a short tick and measures
 * how much later than asked it woke up. A JVM starved of CPU (a loaded machine, a low {@code nice}
 * priority, a throttled container) or stopped by garbage collection wakes late, and so does every
 * thread of it, relay heartbeats included; a chaos run whose kit or relays were starved measures
 * the machine, not the relay, and must not be reported as a pass or a failure.
 *
 * <p>An episode is recorded when the lateness summed over the last {@code 2 × limit} of time
 * reaches {@code limit} (one long stall, or many short ones that add up to being half-starved). Its
 * cause is given as garbage collection when the collectors' pause time (JMX, concurrent collectors
 * left out) covers at least half of the lateness, as scheduling delay otherwise. A stall the caller
 * excuses (the kit itself froze the process with SIGSTOP, see {@link PauseMarkers}) is not counted.
 *
 * <p>The measuring ({@link #observe}) is separate from the thread, with the clocks injected, so
 * tests can drive it without sleeping.
 */
final class StarvationWatch implements AutoCloseable {

  /** A period in which the process was starved. */
  record Episode(Instant at, long lateMillis, long windowMillis, long gcMillis) {

    /** Garbage collection explains at least half of it. */
    boolean byGc() {
      return gcMillis * 2 >= lateMillis;
    }

    String describe(String who) {
      return who
          + " was "
          + (byGc() ? "stopped by garbage collection" : "starved of CPU (scheduling delay)")
          + " for "
          + lateMillis
          + " ms within "
          + windowMillis
          + " ms at "
          + at
          + " (GC pauses "
          + gcMillis
          + " ms)";
    }
  }

  /** Whether a late wake-up between two monotonic times is explained (and so not starvation). */
  @FunctionalInterface
  interface Excuse {
    boolean covers(long fromNanos, long toNanos);
  }

  /** Sleeps on the watch thread; {@link Thread#sleep} in production. */
  @FunctionalInterface
  interface Sleeper {
    void sleep(long nanos) throws InterruptedException;
  }

  private record Late(long atNanos, long lateNanos, long gcNanos) {}

  private final long tickNanos;
  private final long limitNanos;
  private final LongSupplier nanos;
  private final LongSupplier gcNanos;
  private final Clock clock;
  private final Excuse excuse;
  private final Sleeper sleeper;
  private final Deque<Late> window = new ArrayDeque<>();
  private final List<Episode> episodes = new ArrayList<>();
  private long worstLateNanos;
  private long episodeUntilNanos = Long.MIN_VALUE;
  private volatile boolean stopped;
  private Thread thread;

  /**
   * @param tick how long the watch thread sleeps between two measurements
   * @param limit the lateness within {@code 2 × limit} that counts as starvation
   */
  StarvationWatch(
      Duration tick,
      Duration limit,
      LongSupplier nanos,
      LongSupplier gcNanos,
      Clock clock,
      Excuse excuse,
      Sleeper sleeper) {
    if (tick.isNegative() || tick.isZero() || limit.compareTo(tick) <= 0) {
      throw new IllegalArgumentException(
          "The starvation limit (" + limit + ") must be longer than the tick (" + tick + ")");
    }
    this.tickNanos = tick.toNanos();
    this.limitNanos = limit.toNanos();
    this.nanos = nanos;
    this.gcNanos = gcNanos;
    this.clock = clock;
    this.excuse = excuse;
    this.sleeper = sleeper;
  }

  /** A watch on this JVM: 50 ms ticks, {@code System.nanoTime}, the JMX collectors. */
  static StarvationWatch ofThisJvm(Duration limit, Excuse excuse) {
    return new StarvationWatch(
        Duration.ofMillis(50),
        limit,
        System::nanoTime,
        StarvationWatch::gcPauseNanos,
        Clock.systemUTC(),
        excuse,
        Thread::sleep);
  }

  /**
   * The starvation limit of a run: half the relays' lease TTL. A relay stalled that long has missed
   * several heartbeats and sends too late to be judged by the run's timing checks.
   */
  static Duration limitFor(Duration leaseTtl) {
    Duration half = leaseTtl.dividedBy(2);
    return half.compareTo(Duration.ofMillis(500)) < 0 ? Duration.ofMillis(500) : half;
  }

  /** Starts the watch thread (a daemon named {@code chaos-starvation-watch}). */
  synchronized void start() {
    thread = new Thread(this::watch, "chaos-starvation-watch");
    thread.setDaemon(true);
    thread.start();
  }

  private void watch() {
    long gcBefore = gcNanos.getAsLong();
    while (!stopped) {
      long before = nanos.getAsLong();
      try {
        sleeper.sleep(tickNanos);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      long after = nanos.getAsLong();
      long gcAfter = gcNanos.getAsLong();
      observe(before, after, gcAfter - gcBefore);
      gcBefore = gcAfter;
    }
  }

  /**
   * One measurement: the watch thread asked to sleep one tick at {@code beforeNanos} and ran again
   * at {@code afterNanos}, while the collectors paused the JVM for {@code gcNanos}.
   */
  synchronized void observe(long beforeNanos, long afterNanos, long gcNanos) {
    long late = Math.max(0, afterNanos - beforeNanos - tickNanos);
    if (late > 0 && excuse.covers(beforeNanos, afterNanos)) {
      late = 0;
    }
    worstLateNanos = Math.max(worstLateNanos, late);
    window.addLast(new Late(afterNanos, late, Math.max(0, gcNanos)));
    long windowNanos = 2 * limitNanos;
    while (!window.isEmpty() && afterNanos - window.peekFirst().atNanos() > windowNanos) {
      window.removeFirst();
    }
    long sum = 0;
    long gc = 0;
    for (Late l : window) {
      sum += l.lateNanos();
      gc += Math.min(l.gcNanos(), l.lateNanos());
    }
    // One episode per window: a long stall is counted once, not once per tick after it.
    if (sum >= limitNanos && afterNanos > episodeUntilNanos) {
      episodes.add(
          new Episode(clock.instant(), sum / 1_000_000, windowNanos / 1_000_000, gc / 1_000_000));
      episodeUntilNanos = afterNanos + windowNanos;
      window.clear();
    }
  }

  /** The episodes so far, oldest first. */
  synchronized List<Episode> episodes() {
    return List.copyOf(episodes);
  }

  /** The longest single late wake-up not excused, in milliseconds. */
  synchronized long worstLateMillis() {
    return worstLateNanos / 1_000_000;
  }

  /** The pause time of the stop-the-world collectors so far; concurrent cycles are left out. */
  static long gcPauseNanos() {
    long millis = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      if (!gc.getName().contains("Concurrent") && gc.getCollectionTime() > 0) {
        millis += gc.getCollectionTime();
      }
    }
    return millis * 1_000_000;
  }

  @Override
  public synchronized void close() {
    stopped = true;
    if (thread != null) {
      thread.interrupt();
    }
  }
}
