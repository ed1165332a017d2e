package dev.outboxkit.relay.internal;

import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the {@code outbox.events.parked} and {@code outbox.events.parked.oldest.age} gauges, on the
 * housekeeping thread of either mode. Parked events change only when a send fails for good or an
 * operator acts, and the alert on them waits an hour, so they are measured at most once per {@link
 * #INTERVAL} (not every metrics interval), and at once after this relay parked one, with one
 * bounded statement ({@link OutboxStats#parked}). A failed measurement makes both gauges read NaN
 * until the next succeeds.
 */
public final class ParkedGauges {

  /** How often the parked events are counted at most. */
  public static final Duration INTERVAL = Duration.ofMinutes(1);

  private static final Logger log = LoggerFactory.getLogger(ParkedGauges.class);

  private final OutboxStats stats;
  private final RelayMetrics metrics;
  private final Clock clock;
  private final Duration interval;
  private Instant due = Instant.MIN;
  private long parkedHere = -1;

  public ParkedGauges(OutboxStats stats, RelayMetrics metrics, Clock clock, Duration interval) {
    this.stats = stats;
    this.metrics = metrics;
    this.clock = clock;
    this.interval = interval;
  }

  /** Measures when the interval since the last measurement has passed; called by one thread. */
  public void measureIfDue(Jdbc jdbc) {
    Instant now = clock.instant();
    long parkedHereNow = metrics.parkedHere();
    if (now.isBefore(due) && parkedHereNow == parkedHere) {
      return;
    }
    due = now.plus(interval);
    parkedHere = parkedHereNow;
    long start = System.nanoTime();
    try {
      OutboxStats.Parked parked = jdbc.autoCommit(stats::parked);
      Instant oldest = parked.oldest();
      metrics.parked(
          parked.count(), oldest == null ? Duration.ZERO : Duration.between(oldest, now));
    } catch (SQLException | RuntimeException e) {
      metrics.parked(-1, null);
      log.debug("Could not count the parked events", e);
    }
    metrics.parkedMeasured(start);
  }
}
