package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** How the read floor moves, without a database (the proof is in {@link ReadFloor}). */
class ReadFloorTests {

  private static final Set<Integer> ALL = Set.of(0, 1, 2, 3);

  @Test
  void theFloorRisesOnlyOnceTheCandidatesTransactionsAreFinished() {
    ReadFloor floor = new ReadFloor(() -> true);
    assertThat(floor.floorFor(ALL)).isEqualTo(ReadFloor.NONE);
    floor.advance("100:105:100,103", 7L, false, 20);
    assertThat(floor.waitingFor()).containsExactly("100", "103");
    assertThat(floor.floor()).isEqualTo(ReadFloor.NONE);

    // Not finished: the older candidate stays (20, waiting for 100 and 103), not read 2's.
    floor.advance("100:110:100,108", 25L, false, 40);
    assertThat(floor.floor()).isEqualTo(ReadFloor.NONE);
    assertThat(floor.waitingFor()).containsExactly("100", "103");

    // Finished: min(lowest pending, 20 + 1); the next candidate is this read's.
    floor.advance("108:112:108", 25L, true, 60);
    assertThat(floor.floor()).isEqualTo(21);
    assertThat(floor.waitingFor()).containsExactly("108");

    // A pending row below the candidate (a held key's) keeps the floor at it.
    floor.advance("112:112:", 30L, true, 70);
    assertThat(floor.floor()).isEqualTo(30);
    assertThat(floor.waitingFor()).isEmpty();

    // Nothing pending: the candidate + 1; a read without rows leaves no candidate.
    floor.advance("112:112:", null, true, ReadFloor.NONE);
    assertThat(floor.floor()).isEqualTo(71);
    assertThat(floor.waitingFor()).isEmpty();
    floor.advance("112:112:", null, true, ReadFloor.NONE);
    assertThat(floor.floor()).isEqualTo(71);
  }

  @Test
  void otherPartitionsALeaseChangeAndAResetStartAtTheHead() {
    ReadFloor floor = new ReadFloor(() -> true);
    floor.scope(1);
    floor.floorFor(ALL);
    floor.advance("1:1:", null, true, 10);
    floor.advance("1:1:", null, true, 20);
    assertThat(floor.floorFor(ALL)).isEqualTo(11);

    assertThat(floor.floorFor(Set.of(0, 1))).isEqualTo(ReadFloor.NONE);
    floor.advance("1:1:", null, true, 10);
    floor.advance("1:1:", null, true, 20);
    assertThat(floor.floorFor(Set.of(0, 1))).isEqualTo(11);

    floor.scope(1);
    assertThat(floor.floorFor(Set.of(0, 1))).isEqualTo(11);
    floor.scope(2);
    assertThat(floor.floorFor(Set.of(0, 1))).isEqualTo(ReadFloor.NONE);

    floor.advance("1:1:", null, true, 10);
    floor.advance("1:1:", null, true, 20);
    floor.reset();
    assertThat(floor.floorFor(Set.of(0, 1))).isEqualTo(ReadFloor.NONE);
    assertThat(floor.waitingFor()).isEmpty();
  }

  /** A failover or restart behind a pool: the floor and its candidate were proved elsewhere. */
  @Test
  void anotherServerDropsTheFloor() {
    ReadFloor floor = new ReadFloor(() -> true);
    floor.floorFor(ALL);
    assertThat(floor.sameServer("2026-12-07 03:00:00+00")).isTrue();
    floor.advance("1:1:", null, true, 10);
    floor.advance("1:1:", null, true, 20);
    assertThat(floor.sameServer("2026-12-07 03:00:00+00")).isTrue();
    assertThat(floor.floorFor(ALL)).isEqualTo(11);

    assertThat(floor.sameServer("2026-12-07 03:05:00+00")).isFalse();
    assertThat(floor.floorFor(ALL)).isEqualTo(ReadFloor.NONE);
    assertThat(floor.waitingFor()).isEmpty();
    assertThat(floor.sameServer("2026-12-07 03:05:00+00")).isTrue();
  }

  @Test
  void theSwitchAndTheSharedOffFloor() {
    assertThat(new ReadFloor(() -> false).enabled()).isFalse();
    assertThat(new ReadFloor(() -> true).enabled()).isTrue();
    assertThat(ReadFloor.off().enabled()).isFalse();
  }

  @Test
  void readsTheInProgressIdsOfASnapshot() {
    assertThat(ReadFloor.inProgress("748:748:")).isEmpty();
    assertThat(ReadFloor.inProgress("10:20:10,14,19")).isEqualTo(List.of("10", "14", "19"));
    assertThatThrownBy(() -> ReadFloor.inProgress("garbage"))
        .isInstanceOf(IllegalStateException.class);
  }
}
