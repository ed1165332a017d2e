package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.test.MutableClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class StallDetectorTests {

  private final MutableClock clock = new MutableClock();
  private final StallDetector detector = new StallDetector(clock, Duration.ofMinutes(5));

  @Test
  void workThatWaitsWithoutProgressForTheTimeoutIsAStallNamingWhatWaits() {
    detector.observe("3 events wait in the outbox", 7);
    clock.advance(Duration.ofMinutes(4));
    detector.observe("3 events wait in the outbox", 7);
    assertThat(detector.stalled()).isNull();

    clock.advance(Duration.ofMinutes(1));
    detector.observe("3 events wait in the outbox", 7);
    assertThat(detector.stalled())
        .isEqualTo("no progress for 300 s (stall timeout 300 s) while 3 events wait in the outbox");
  }

  @Test
  void progressWhileWorkWaitsRestartsTheCount() {
    detector.observe("a backlog", 1);
    clock.advance(Duration.ofMinutes(4));
    detector.observe("a backlog", 2);
    clock.advance(Duration.ofMinutes(4));
    detector.observe("a backlog", 2);
    assertThat(detector.stalled()).isNull();
    clock.advance(Duration.ofMinutes(1));
    assertThat(detector.stalled()).startsWith("no progress for 300 s");

    detector.observe("a backlog", 3);
    assertThat(detector.stalled()).as("UP again as soon as something moved").isNull();
  }

  @Test
  void anIdleRelayIsNeverStalledAndItsQuietTimeDoesNotCountOnceWorkArrives() {
    detector.observe(null, 5);
    clock.advance(Duration.ofHours(1));
    detector.observe(null, 5);
    assertThat(detector.stalled()).isNull();

    detector.observe("1 event waits in the outbox", 5);
    assertThat(detector.stalled()).as("the hour without work is not a stall").isNull();
    clock.advance(Duration.ofSeconds(299));
    assertThat(detector.stalled()).isNull();
    clock.advance(Duration.ofSeconds(1));
    assertThat(detector.stalled()).contains("1 event waits in the outbox");
  }

  @Test
  void nothingWaitingEndsAStall() {
    detector.observe("a backlog", 0);
    clock.advance(Duration.ofMinutes(6));
    assertThat(detector.stalled()).isNotNull();
    detector.observe(null, 0);
    assertThat(detector.stalled()).isNull();
  }

  @Test
  void measurementsThatStopDoNotFreezeTheVerdict() {
    detector.observe("the change stream waits to be read (no engine runs here)", 0);
    clock.advance(Duration.ofMinutes(10));
    // No observe() since: the measuring thread hangs. The clock still counts.
    assertThat(detector.stalled())
        .isEqualTo(
            "no progress for 600 s (stall timeout 300 s) while the change stream waits to be read"
                + " (no engine runs here)");
  }

  @Test
  void failedMeasurementsCountAsWaitingWithoutProgress() {
    detector.observe(null, 4);
    clock.advance(Duration.ofSeconds(5));
    for (int i = 0; i < 60; i++) {
      detector.observe("the outbox could not be measured (SQLTransientConnectionException)", 4);
      clock.advance(Duration.ofSeconds(5));
    }
    assertThat(detector.stalled())
        .isEqualTo(
            "no progress for 300 s (stall timeout 300 s) while the outbox could not be measured"
                + " (SQLTransientConnectionException)");
  }

  @Test
  void fractionsOfASecondAreShown() {
    StallDetector short1 = new StallDetector(clock, Duration.ofMillis(1500));
    short1.observe("x", 0);
    clock.advance(Duration.ofMillis(2250));
    assertThat(short1.stalled()).isEqualTo("no progress for 2.3 s (stall timeout 1.5 s) while x");
  }
}
