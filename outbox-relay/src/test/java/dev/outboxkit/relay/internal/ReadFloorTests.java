package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import org.junit.jupiter.api.Test;

/** How the read floor moves, without a database (the proof is in {@link ReadFloor}). */
class ReadFloorTests {

  private static final Set<Integer> ALL = Set.of(0, 1, 2, 3);

  @Test
  void theFloorRisesOnlyOnceTheCandidatesTransactionsAreFinished() {
    ReadFloor floor = new ReadFloor(() -> true);
    assertThat(floor.floorFor(ALL)).isEqualTo(ReadFloor.NONE);
    // No candidate yet: this read's (up to seq 20, waiting for every transaction below 105).
    floor.advance("105", 7L, false, 20);
    assertThat(floor.waitingFor()).isEqualTo("105");
    assertThat(floor.floor()).isEqualTo(ReadFloor.NONE);

    // Not finished: the older candidate stays; the read took no id.
    floor.advance(null, 25L, false, 40);
    assertThat(floor.floor()).isEqualTo(ReadFloor.NONE);
    assertThat(floor.waitingFor()).isEqualTo("105");

    // Finished: min(lowest pending, 20 + 1); the next candidate is this read's.
    floor.advance("112", 25L, true, 60);
    assertThat(floor.floor()).isEqualTo(21);
    assertThat(floor.waitingFor()).isEqualTo("112");

    // A pending row below the candidate (a held key's) keeps the floor at it.
    floor.advance("113", 30L, true, 70);
    assertThat(floor.floor()).isEqualTo(30);
    assertThat(floor.waitingFor()).isEqualTo("113");

    // Nothing pending: the candidate + 1; a read without rows leaves no candidate.
    floor.advance("114", null, true, ReadFloor.NONE);
    assertThat(floor.floor()).isEqualTo(71);
    assertThat(floor.waitingFor()).isNull();
    floor.advance("115", null, true, ReadFloor.NONE);
    assertThat(floor.floor()).isEqualTo(71);
  }

  @Test
  void otherPartitionsALeaseChangeAndAResetStartAtTheHead() {
    ReadFloor floor = new ReadFloor(() -> true);
    floor.scope(1);
    floor.floorFor(ALL);
    floor.advance("1", null, true, 10);
    floor.advance("2", null, true, 20);
    assertThat(floor.floorFor(ALL)).isEqualTo(11);

    assertThat(floor.floorFor(Set.of(0, 1))).isEqualTo(ReadFloor.NONE);
    floor.advance("1", null, true, 10);
    floor.advance("2", null, true, 20);
    assertThat(floor.floorFor(Set.of(0, 1))).isEqualTo(11);

    floor.scope(1);
    assertThat(floor.floorFor(Set.of(0, 1))).isEqualTo(11);
    floor.scope(2);
    assertThat(floor.floorFor(Set.of(0, 1))).isEqualTo(ReadFloor.NONE);

    floor.advance("1", null, true, 10);
    floor.advance("2", null, true, 20);
    floor.reset();
    assertThat(floor.floorFor(Set.of(0, 1))).isEqualTo(ReadFloor.NONE);
    assertThat(floor.waitingFor()).isNull();
  }

  /** A failover or restart behind a pool: the floor and its candidate were proved elsewhere. */
  @Test
  void anotherServerDropsTheFloor() {
    ReadFloor floor = new ReadFloor(() -> true);
    floor.floorFor(ALL);
    assertThat(floor.sameSource("2026-12-07 03:00:00+00", "16384")).isTrue();
    floor.advance("1", null, true, 10);
    floor.advance("2", null, true, 20);
    assertThat(floor.sameSource("2026-12-07 03:00:00+00", "16384")).isTrue();
    assertThat(floor.floorFor(ALL)).isEqualTo(11);

    assertThat(floor.sameSource("2026-12-07 03:05:00+00", "16384")).isFalse();
    assertThat(floor.floorFor(ALL)).isEqualTo(ReadFloor.NONE);
    assertThat(floor.waitingFor()).isNull();
    assertThat(floor.sameSource("2026-12-07 03:05:00+00", "16384")).isTrue();
  }

  @Test
  void theSwitchAndTheSharedOffFloor() {
    assertThat(new ReadFloor(() -> false).enabled()).isFalse();
    assertThat(new ReadFloor(() -> true).enabled()).isTrue();
    assertThat(ReadFloor.off().enabled()).isFalse();
  }

  /**
   * A restarted seq identity (a new file node of its sequence): new rows may be below the floor.
   */
  @Test
  void aRestartedIdentityDropsTheFloor() {
    ReadFloor floor = new ReadFloor(() -> true);
    floor.floorFor(ALL);
    assertThat(floor.sameSource("s", "16400")).isTrue();
    floor.advance("1", null, true, 10);
    floor.advance("2", null, true, 20);
    assertThat(floor.floorFor(ALL)).isEqualTo(11);

    assertThat(floor.sameSource("s", "16512")).isFalse();
    assertThat(floor.floorFor(ALL)).isEqualTo(ReadFloor.NONE);
    assertThat(floor.sameSource("s", "16512")).isTrue();
  }

  @Test
  void aBoundThatIsNoTransactionIdIsRefused() {
    ReadFloor floor = new ReadFloor(() -> true);
    floor.floorFor(ALL);
    assertThatThrownBy(() -> floor.advance("garbage", null, true, 10))
        .isInstanceOf(NumberFormatException.class);
  }
}
