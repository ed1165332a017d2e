package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Review finding: an {@link Error} thrown by one retention run (a class missing at run time, a
 * stack overflow in a driver) ends the retention schedule in silence. {@code ParkedRetention.run}
 * catches only {@link RuntimeException}: the Error reaches the {@code ScheduledExecutorService},
 * which cancels the periodic task and keeps the throwable in a future nobody reads. No failure is
 * counted, nothing is logged, and retention never runs again while every metric looks healthy (the
 * very silence {@code ThreadDeaths} was written to end for the relay's own periodic jobs). Under
 * the project's rules the Error need not be swallowed, but its end must be visible: counted in
 * {@code outbox.parked.retention.failures} (and logged) before it ends the schedule.
 */
class ParkedRetentionErrorTests {

  @Test
  void anErrorThatEndsARunIsCountedAsAFailure() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    AtomicInteger asked = new AtomicInteger();
    ParkedRetention scheduled =
        ParkedRetention.of(
            () -> {
              asked.incrementAndGet();
              throw new NoClassDefFoundError("org/example/MissingDriverClass");
            },
            Duration.ofDays(30),
            Duration.ofSeconds(1),
            10,
            Clock.fixed(ParkedRetentionTests.NOW, ZoneOffset.UTC),
            registry,
            "outbox_event");
    try {
      scheduled.start();
      // The first run starts a second after start(): half a minute is generous on 2 cores.
      Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> asked.get() >= 1);
      Awaitility.await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () ->
                  assertThat(registry.get("outbox.parked.retention.failures").counter().count())
                      .as("retention failures after a run that ended with an Error")
                      .isEqualTo(1.0));
    } finally {
      scheduled.close();
    }
  }
}
