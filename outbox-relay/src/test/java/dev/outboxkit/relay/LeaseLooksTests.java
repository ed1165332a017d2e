package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.relay.LeaseLooks.Look;
import dev.outboxkit.relay.LeaseLooks.Verdict;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * How {@link RelayZombieIntegrationTests} judges a woken zombie's record from looks at the lease
 * table: a send is held against the relay only when a look that began after it still found the
 * partition not held; a send between the last look without the partition and the first with it
 * cannot be told.
 */
class LeaseLooksTests {

  // Looks every 10 ns of a made-up monotonic clock, each taking 2; the zombie claims partition 3
  // between the look at 20 and the one at 30, and never partition 5.
  private static final List<Look> LOOKS =
      List.of(
          new Look(0, 2, Set.of()),
          new Look(10, 12, Set.of()),
          new Look(20, 22, Set.of()),
          new Look(30, 32, Set.of(3)),
          new Look(40, 42, Set.of(3)));

  @Test
  void aSendBeforeALookThatStillFoundThePartitionFreeIsNotHeld() {
    assertThat(LeaseLooks.judge(LOOKS, 3, 5)).isEqualTo(Verdict.NOT_HELD);
    assertThat(LeaseLooks.judge(LOOKS, 3, 19)).isEqualTo(Verdict.NOT_HELD);
  }

  @Test
  void aSendAfterALookThatEndedWithThePartitionHeldIsHeld() {
    assertThat(LeaseLooks.judge(LOOKS, 3, 32)).isEqualTo(Verdict.HELD);
    assertThat(LeaseLooks.judge(LOOKS, 3, 1_000)).isEqualTo(Verdict.HELD);
  }

  @Test
  void aSendAroundTheClaimCannotBeTold() {
    assertThat(LeaseLooks.judge(LOOKS, 3, 20)).isEqualTo(Verdict.UNDECIDED);
    assertThat(LeaseLooks.judge(LOOKS, 3, 25)).isEqualTo(Verdict.UNDECIDED);
    assertThat(LeaseLooks.judge(LOOKS, 3, 31)).isEqualTo(Verdict.UNDECIDED);
  }

  @Test
  void aPartitionNeverHeldIsNotHeldUntilTheLastLook() {
    assertThat(LeaseLooks.judge(LOOKS, 5, 35)).isEqualTo(Verdict.NOT_HELD);
    // After the last look nothing is known.
    assertThat(LeaseLooks.judge(LOOKS, 5, 41)).isEqualTo(Verdict.UNDECIDED);
  }

  @Test
  void timesAreComparedAsMonotonicDifferencesAcrossTheOverflowOfNanoTime() {
    long base = Long.MAX_VALUE - 15;
    List<Look> wrapping =
        List.of(new Look(base, base + 2, Set.of()), new Look(base + 20, base + 22, Set.of(3)));
    assertThat(LeaseLooks.judge(wrapping, 3, base + 1)).isEqualTo(Verdict.UNDECIDED);
    assertThat(LeaseLooks.judge(wrapping, 3, base - 5)).isEqualTo(Verdict.NOT_HELD);
    assertThat(LeaseLooks.judge(wrapping, 3, base + 30)).isEqualTo(Verdict.HELD);
  }
}
