package dev.outboxkit.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The starvation detector of the chaos kit, driven by scripted clocks (no sleeping). */
class StarvationWatchTests {

  private static final long MS = 1_000_000L;
  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2026-12-06T10:00:00Z"), ZoneOffset.UTC);

  private static StarvationWatch watch(StarvationWatch.Excuse excuse) {
    return new StarvationWatch(
        Duration.ofMillis(50), Duration.ofMillis(1500), () -> 0, () -> 0, CLOCK, excuse, n -> {});
  }

  /** Feeds ticks of 50 ms that each ran {@code lateMs} late; returns the time after them. */
  private static long ticks(StarvationWatch watch, long from, int count, long lateMs, long gcMs) {
    long t = from;
    for (int i = 0; i < count; i++) {
      long after = t + 50 * MS + lateMs * MS;
      watch.observe(t, after, gcMs * MS);
      t = after;
    }
    return t;
  }

  @Test
  void aJvmThatWakesOnTimeOrSlightlyLateIsNotStarved() {
    StarvationWatch watch = watch((a, b) -> false);
    // Ten minutes of ticks, each up to 20 ms late: an ordinary busy machine.
    long t = ticks(watch, 0, 6000, 5, 0);
    ticks(watch, t, 6000, 20, 1);

    assertThat(watch.episodes()).isEmpty();
    assertThat(watch.worstLateMillis()).isEqualTo(20);
  }

  @Test
  void oneStallLongerThanTheLimitIsOneEpisodeOfSchedulingDelay() {
    StarvationWatch watch = watch((a, b) -> false);
    long t = ticks(watch, 0, 100, 0, 0);
    t = ticks(watch, t, 1, 2_000, 0);
    ticks(watch, t, 100, 0, 0);

    assertThat(watch.episodes()).hasSize(1);
    StarvationWatch.Episode episode = watch.episodes().get(0);
    assertThat(episode.lateMillis()).isEqualTo(2_000);
    assertThat(episode.byGc()).isFalse();
    assertThat(episode.describe("relay r-0"))
        .startsWith("relay r-0 was starved of CPU (scheduling delay) for 2000 ms within 3000 ms");
  }

  @Test
  void manyShortDelaysThatAddUpToHalfTheTimeAreStarvationToo() {
    StarvationWatch watch = watch((a, b) -> false);
    // Every 50 ms tick takes 100 ms instead: the process runs a third of the time it asks for.
    ticks(watch, 0, 40, 100, 0);

    assertThat(watch.episodes()).isNotEmpty();
    assertThat(watch.episodes().get(0).lateMillis()).isGreaterThanOrEqualTo(1_500);
    assertThat(watch.worstLateMillis()).isEqualTo(100);
  }

  @Test
  void aStallMostlySpentInGarbageCollectionIsReportedAsSuch() {
    StarvationWatch watch = watch((a, b) -> false);
    ticks(watch, 0, 1, 1_800, 1_700);

    assertThat(watch.episodes()).singleElement().satisfies(e -> assertThat(e.byGc()).isTrue());
    assertThat(watch.episodes().get(0).describe("the kit"))
        .contains("the kit was stopped by garbage collection for 1800 ms")
        .contains("GC pauses 1700 ms");
  }

  @Test
  void aStallTheKitCausedOnPurposeIsExcused() {
    StarvationWatch watch = watch((from, to) -> to - from > 5_000 * MS);
    long t = ticks(watch, 0, 1, 7_000, 0);
    ticks(watch, t, 1, 2_000, 0);

    // The 7 s freeze (SIGSTOP by pause-relay) is excused; the 2 s stall after it is not.
    assertThat(watch.episodes())
        .singleElement()
        .satisfies(e -> assertThat(e.lateMillis()).isEqualTo(2_000));
  }

  @Test
  void theRelaysExcuseIsThePauseMarkerAndItIsUsedOnce(@TempDir Path control) throws Exception {
    ChaosSignals signals = new ChaosSignals(control);
    StarvationWatch.Excuse excuse = signals.pausedByKit();
    assertThat(excuse.covers(0, 7_000 * MS)).isFalse();

    ChaosSignals.markPaused(control);
    assertThat(excuse.covers(0, 7_000 * MS)).isTrue();
    assertThat(Files.exists(control.resolve(ChaosSignals.PAUSED))).isFalse();
    assertThat(excuse.covers(0, 7_000 * MS)).isFalse();
  }

  @Test
  void theWatchThreadMeasuresWhatItsSleepsReallyTook() throws Exception {
    // Scripted sleeps: each tick's sleep advances the monotonic clock by the next scripted amount;
    // the fourth one stands for a 3 s stall. After the script the thread is parked until closed.
    Deque<Long> script = new ArrayDeque<>(List.of(50L, 55L, 50L, 3_050L, 50L, 50L));
    AtomicLong now = new AtomicLong();
    CountDownLatch scriptDone = new CountDownLatch(1);
    StarvationWatch watch =
        new StarvationWatch(
            Duration.ofMillis(50),
            Duration.ofMillis(1500),
            now::get,
            () -> 0,
            CLOCK,
            (a, b) -> false,
            nanos -> {
              Long next = script.poll();
              if (next == null) {
                scriptDone.countDown();
                Thread.sleep(Long.MAX_VALUE);
              }
              now.addAndGet(next * MS);
            });
    watch.start();
    try {
      assertThat(scriptDone.await(30, TimeUnit.SECONDS)).isTrue();
      assertThat(watch.episodes())
          .singleElement()
          .satisfies(e -> assertThat(e.lateMillis()).isEqualTo(3_000));
      assertThat(watch.worstLateMillis()).isEqualTo(3_000);
    } finally {
      watch.close();
    }
  }

  @Test
  void aLimitNoLongerThanTheTickIsRefused() {
    assertThatThrownBy(
            () ->
                new StarvationWatch(
                    Duration.ofMillis(50),
                    Duration.ofMillis(50),
                    () -> 0,
                    () -> 0,
                    CLOCK,
                    (a, b) -> false,
                    n -> {}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("starvation limit");
    assertThat(StarvationWatch.limitFor(Duration.ofSeconds(3))).isEqualTo(Duration.ofMillis(1500));
    assertThat(StarvationWatch.limitFor(Duration.ofMillis(600))).isEqualTo(Duration.ofMillis(500));
  }

  @Test
  void aStarvedRunIsInvalidNeitherPassedNorFailed() {
    ChaosReport starved =
        report(List.of("relay relay-0-0 was starved of CPU for 2000 ms"), List.of());
    assertThat(starved.valid()).isFalse();
    assertThat(starved.passed()).isFalse();
    assertThat(starved.result()).isEqualTo("INVALID");
    assertThat(starved.toText())
        .startsWith("OutboxKit chaos run: INVALID (starved")
        .contains("STARVED       relay relay-0-0 was starved of CPU for 2000 ms")
        .contains("(not judged)  1 partitions stuck");

    ChaosReport clean = report(List.of(), List.of());
    assertThat(clean.result()).isEqualTo("PASSED");
    assertThat(report(List.of(), List.of("1 partitions stuck")).result()).isEqualTo("FAILED");
  }

  private static ChaosReport report(List<String> starvation, List<String> violations) {
    List<String> v = starvation.isEmpty() ? violations : List.of("1 partitions stuck");
    return new ChaosReport(
        "test",
        "polling",
        1,
        1,
        Map.of(),
        Map.of(),
        10,
        0,
        0,
        0,
        ChaosReport.KeyFigures.none(),
        10,
        0,
        0,
        0,
        100,
        0,
        0,
        0,
        List.of(),
        List.of(),
        List.of(),
        Map.of(),
        List.of(),
        v,
        List.of(),
        starvation,
        1);
  }
}
