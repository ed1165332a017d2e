package dev.outboxkit.relay.internal.polling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The policy that adapts the publishing threads to the backlog, driven by a hand-set clock. */
class ThreadScalingTests {

  private static final long MS = 1_000_000L;
  private static final Duration GROW = Duration.ofMillis(100);
  private static final Duration IDLE = Duration.ofSeconds(5);

  private final ThreadScaling scaling = new ThreadScaling(4, GROW, IDLE, 0);

  @Test
  void addsAThreadOnlyOnceReadsStayedFullForTheGrowTime() {
    assertThat(scaling.afterRead(1, true, 10 * MS)).isEqualTo(1);
    assertThat(scaling.afterRead(1, true, 60 * MS)).isEqualTo(1);
    assertThat(scaling.afterRead(1, true, 109 * MS)).isEqualTo(1);
    assertThat(scaling.afterRead(1, true, 110 * MS)).isEqualTo(2);
  }

  @Test
  void eachFurtherThreadNeedsItsOwnRunOfFullReadsAndStopsAtTheMaximum() {
    int active = 1;
    int[] seen = new int[8];
    for (int step = 0; step <= 70; step++) {
      active = scaling.afterRead(active, true, step * 10 * MS);
      seen[step / 10] = active;
    }
    // One more thread per 100 ms of full reads: 2 at 100 ms, 3 at 200 ms, 4 at 300 ms, then 4.
    assertThat(seen).containsExactly(1, 2, 3, 4, 4, 4, 4, 4);
  }

  @Test
  void aReadThatIsNotFullStartsTheRunAgain() {
    assertThat(scaling.afterRead(1, true, 0)).isEqualTo(1);
    assertThat(scaling.afterRead(1, true, 90 * MS)).isEqualTo(1);
    assertThat(scaling.afterRead(1, false, 95 * MS)).isEqualTo(1);
    assertThat(scaling.afterRead(1, true, 100 * MS)).isEqualTo(1);
    assertThat(scaling.afterRead(1, true, 199 * MS)).isEqualTo(1);
    assertThat(scaling.afterRead(1, true, 200 * MS)).isEqualTo(2);
  }

  @Test
  void givesAThreadBackAfterTheIdleTimeWithoutAFullReadOneAtATime() {
    int active = 1;
    for (long t = 0; t <= 300; t += 10) {
      active = scaling.afterRead(active, true, t * MS);
    }
    assertThat(active).isEqualTo(4);
    long lastFull = 300 * MS;
    assertThat(scaling.afterRead(4, false, lastFull + IDLE.toNanos() - 1)).isEqualTo(4);
    assertThat(scaling.afterRead(4, false, lastFull + IDLE.toNanos())).isEqualTo(3);
    // The next one only after another idle time since that change.
    assertThat(scaling.afterRead(3, false, lastFull + IDLE.toNanos() + 1_000 * MS)).isEqualTo(3);
    assertThat(scaling.afterRead(3, false, lastFull + 2 * IDLE.toNanos())).isEqualTo(2);
    assertThat(scaling.afterRead(2, false, lastFull + 3 * IDLE.toNanos())).isEqualTo(1);
    assertThat(scaling.afterRead(1, false, lastFull + 10 * IDLE.toNanos())).isEqualTo(1);
  }

  @Test
  void aFullReadPutsOffGivingAThreadBack() {
    assertThat(scaling.afterRead(2, false, 4_000 * MS)).isEqualTo(2);
    assertThat(scaling.afterRead(2, true, 4_500 * MS)).isEqualTo(2);
    assertThat(scaling.afterRead(2, false, 5_000 * MS)).isEqualTo(2);
    assertThat(scaling.afterRead(2, false, 9_499 * MS)).isEqualTo(2);
    assertThat(scaling.afterRead(2, false, 9_500 * MS)).isEqualTo(1);
  }

  @Test
  void neverAboveItsMaximumNorBelowOne() {
    ThreadScaling one = new ThreadScaling(1, GROW, IDLE, 0);
    for (long t = 0; t <= 1_000; t += 10) {
      assertThat(one.afterRead(1, true, t * MS)).isEqualTo(1);
    }
    assertThat(one.afterRead(1, false, 60_000 * MS)).isEqualTo(1);
  }

  @Test
  void refusesAMaximumBelowOne() {
    assertThatThrownBy(() -> new ThreadScaling(0, GROW, IDLE, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("max threads must be at least 1 but was 0");
  }
}
