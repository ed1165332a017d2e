package dev.outboxkit.relay.internal;

import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Tells a relay that has work waiting and moves nothing from one that is merely slow or idle, for
 * both modes. A health check that reads only lag and failure counts misses a relay that measures
 * nothing (a CDC engine that fails at every start reads as lag 0) or whose measurements fail (the
 * gauges froze); this class judges progress instead.
 *
 * <p>The relay's measuring thread calls {@link #observe} with what waits (a backlog, a change
 * stream to read, or a measurement that failed, which counts as waiting: nothing is known to be
 * done) and a progress mark, a number that changes whenever anything was published, parked or
 * acknowledged. The relay is stalled when work has waited, without the mark changing, for the whole
 * timeout. Time comes from the injected clock and is read again by {@link #stalled}, so a measuring
 * thread that stopped calling does not freeze the verdict. Thread-safe.
 */
public final class StallDetector {

  private final Clock clock;
  private final Duration timeout;
  private long waitingSinceMillis = -1;
  private long progressAtMillis;
  private long mark;
  private boolean marked;
  private @Nullable String waitingFor;

  /**
   * @param clock the relay's clock
   * @param timeout how long work may wait without progress
   */
  public StallDetector(Clock clock, Duration timeout) {
    this.clock = clock;
    this.timeout = timeout;
    this.progressAtMillis = clock.millis();
  }

  /**
   * Records one measurement.
   *
   * @param waitingFor what waits, in words for the health reason (e.g. "3 events wait in the
   *     outbox"), or {@code null} when nothing waits
   * @param progressMark changes whenever something was published, parked or acknowledged
   */
  public synchronized void observe(@Nullable String waitingFor, long progressMark) {
    long now = clock.millis();
    if (!marked || progressMark != mark) {
      marked = true;
      mark = progressMark;
      progressAtMillis = now;
    }
    this.waitingFor = waitingFor;
    if (waitingFor == null) {
      waitingSinceMillis = -1;
    } else if (waitingSinceMillis < 0) {
      waitingSinceMillis = now;
    }
  }

  /**
   * Why the relay is stalled, or {@code null} while it progresses or nothing waits: work has waited
   * since the timeout ago and nothing moved since then.
   */
  public synchronized @Nullable String stalled() {
    if (waitingSinceMillis < 0) {
      return null;
    }
    long quietSince = Math.max(waitingSinceMillis, progressAtMillis);
    long quietFor = clock.millis() - quietSince;
    if (quietFor < timeout.toMillis()) {
      return null;
    }
    return "no progress for "
        + seconds(quietFor)
        + " (stall timeout "
        + seconds(timeout.toMillis())
        + ") while "
        + waitingFor;
  }

  private static String seconds(long millis) {
    return millis % 1000 == 0
        ? millis / 1000 + " s"
        : String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
  }
}
