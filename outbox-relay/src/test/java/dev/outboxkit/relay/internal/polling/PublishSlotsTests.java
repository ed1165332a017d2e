package dev.outboxkit.relay.internal.polling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.delivery.DeliveryOutcome;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * How the publishing threads' share of the partitions follows the adapted thread count: only the
 * active slots get partitions, and a change moves partitions between threads only once no batch is
 * open anywhere, so no partition is ever in open batches of two threads (per-key order).
 */
class PublishSlotsTests {

  private static final long MS = 1_000_000L;
  private static final int PARTITIONS = 8;

  private final AtomicLong clock = new AtomicLong();
  private final AtomicInteger wakeUps = new AtomicInteger();
  private final FakeLeases leases = new FakeLeases();
  private final PublishSlots slots =
      new PublishSlots(
          leases,
          new ThreadScaling(4, Duration.ofMillis(100), Duration.ofSeconds(5), 0),
          clock::get,
          wakeUps::incrementAndGet,
          "test");

  @Test
  void atFirstOnlyTheFirstThreadGetsPartitionsAndItGetsAll() {
    assertThat(slots.max()).isEqualTo(4);
    assertThat(slots.active()).isEqualTo(1);
    assertThat(slots.beginBatch(1, 4)).isEmpty();
    assertThat(slots.beginBatch(3, 4)).isEmpty();
    assertThat(slots.beginBatch(0, 4)).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
  }

  @Test
  void aWantedChangeWaitsUntilEveryOpenBatchEndedThenSplitsThePartitions() {
    Set<Integer> inFlight = slots.beginBatch(0, 4);
    Set<Integer> readAhead = slots.beginBatch(0, 4);
    slots.read(true);
    clock.set(100 * MS);
    slots.read(true);
    // Wanted: 2. Nothing new begins while the two batches are open, not even on thread 0.
    assertThat(slots.active()).isEqualTo(1);
    assertThat(slots.beginBatch(0, 4)).isEmpty();
    assertThat(slots.beginBatch(1, 4)).isEmpty();
    slots.endBatch(inFlight);
    assertThat(slots.active()).isEqualTo(1);
    assertThat(wakeUps).hasValue(0);
    slots.endBatch(readAhead);
    assertThat(slots.active()).isEqualTo(2);
    assertThat(wakeUps).hasValue(1);
    assertThat(slots.beginBatch(0, 4)).containsExactly(0, 2, 4, 6);
    assertThat(slots.beginBatch(1, 4)).containsExactly(1, 3, 5, 7);
    assertThat(slots.beginBatch(2, 4)).isEmpty();
  }

  @Test
  void aChangeWantedWhileNothingIsOpenAppliesAtOnce() {
    clock.set(100 * MS);
    Set<Integer> batch = slots.beginBatch(0, 4);
    slots.read(true);
    slots.endBatch(batch);
    clock.set(200 * MS);
    batch = slots.beginBatch(0, 4);
    slots.read(true);
    slots.endBatch(batch);
    assertThat(slots.active()).isEqualTo(2);
    // Idle: the reads of thread 0 and 1 find little; after 5 s one thread gives its share back.
    clock.set(5_199 * MS);
    slots.read(false);
    assertThat(slots.active()).isEqualTo(2);
    clock.set(5_200 * MS);
    slots.read(false);
    assertThat(slots.active()).isEqualTo(1);
    assertThat(wakeUps).hasValue(2);
    assertThat(slots.beginBatch(0, 4)).hasSize(PARTITIONS);
  }

  @Test
  void readsEndingWhileAChangeWaitsDoNotDecideAnotherOne() {
    Set<Integer> a = slots.beginBatch(0, 4);
    Set<Integer> b = slots.beginBatch(0, 4);
    slots.read(true);
    clock.set(100 * MS);
    slots.read(true); // wants 2
    clock.set(10_000 * MS);
    slots.read(false); // would give one back after 5 s idle, but a change is pending
    slots.endBatch(a);
    slots.endBatch(b);
    assertThat(slots.active()).isEqualTo(2);
  }

  @Test
  void noPartitionIsEverOpenOnTwoThreadsWhateverTheInterleaving() {
    for (long seed = 1; seed <= 200; seed++) {
      FakeLeases fake = new FakeLeases();
      AtomicLong now = new AtomicLong();
      PublishSlots under =
          new PublishSlots(
              fake,
              new ThreadScaling(4, Duration.ofMillis(100), Duration.ofSeconds(5), 0),
              now::get,
              () -> {},
              "seed-" + seed);
      simulate(new Random(seed), under, fake, now);
    }
  }

  /**
   * Four threads, each with at most two open batches (one in flight, one read ahead), in a random
   * interleaving of reads (full or not), batch ends and time passing; checks after every step that
   * no partition is open on two threads and that the active threads' shares cover every partition.
   */
  private static void simulate(Random random, PublishSlots under, FakeLeases fake, AtomicLong now) {
    List<Deque<Set<Integer>>> open = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      open.add(new ArrayDeque<>());
    }
    Map<Integer, Integer> openOn = new HashMap<>();
    Set<Integer> activeSeen = new TreeSet<>();
    boolean backlog = true;
    for (int step = 0; step < 2_000; step++) {
      now.addAndGet(random.nextInt(40) * MS);
      if (random.nextInt(300) == 0) {
        backlog = !backlog;
      }
      int thread = random.nextInt(4);
      Deque<Set<Integer>> mine = open.get(thread);
      if (mine.size() < 2 && random.nextBoolean()) {
        Set<Integer> partitions = under.beginBatch(thread, 4);
        for (int p : partitions) {
          Integer other = openOn.get(p);
          assertThat(other == null || other == thread)
              .as("partition %s begun on thread %s while open on thread %s", p, thread, other)
              .isTrue();
          openOn.put(p, thread);
        }
        if (!partitions.isEmpty()) {
          mine.addLast(partitions);
          under.read(backlog && random.nextInt(10) > 0);
        }
      } else if (!mine.isEmpty()) {
        Set<Integer> ended = mine.removeFirst();
        under.endBatch(ended);
        for (int p : ended) {
          boolean stillOpen = mine.stream().anyMatch(s -> s.contains(p));
          if (!stillOpen) {
            openOn.remove(p);
          }
        }
      }
      activeSeen.add(under.active());
      assertThat(fake.openBatches()).isEqualTo(open.stream().mapToInt(Deque::size).sum());
    }
    // The interleavings did change the count both ways, or the check above proved little.
    assertThat(activeSeen).hasSizeGreaterThan(1);
  }

  @Test
  void theObservedStoreCountsAReadFullOnlyWhenARowLimitCutIt() throws Exception {
    Deque<OutboxRows.Fetched> results = new ArrayDeque<>();
    List<Long> budgets = new ArrayList<>();
    OutboxRows.Fetched full = new OutboxRows.Fetched(List.of(), true, List.of(), Set.of(3), false);
    OutboxRows.Fetched cutByBytes =
        new OutboxRows.Fetched(List.of(), true, List.of(), Set.of(3), true);
    PollingStore store =
        slots.observing(
            new PollingStore() {
              @Override
              public OutboxRows.Fetched fetch(
                  Set<Integer> partitions,
                  int perPartition,
                  Map<Integer, List<String>> excluded,
                  List<PendingEvent> inFlight,
                  Map<Integer, Long> after,
                  long maxBytes) {
                budgets.add(maxBytes);
                return results.removeFirst();
              }

              @Override
              public void record(DeliveryOutcome outcome) {}

              @Override
              public Set<Long> pending(java.util.Collection<Long> seqs) {
                return Set.copyOf(seqs);
              }
            },
            1000);
    results.add(full);
    store.fetch(Set.of(3), 10, Map.of(), List.of(), Map.of(), 1000);
    clock.set(100 * MS);
    // Cut by the byte budget: more threads would not read more bytes, so the run of full reads
    // ends here and the count stays.
    results.add(cutByBytes);
    store.fetch(Set.of(3), 10, Map.of(), List.of(), Map.of(), 1000);
    assertThat(slots.active()).isEqualTo(1);
    results.add(full);
    store.fetch(Set.of(3), 10, Map.of(), List.of(), Map.of(), 1000);
    clock.set(200 * MS);
    results.add(full);
    store.fetch(Set.of(3), 10, Map.of(), List.of(), Map.of(), 1000);
    assertThat(slots.active()).isEqualTo(2);
    assertThat(budgets).containsExactly(1000L, 1000L, 1000L, 1000L);
  }

  @Test
  void theActiveThreadsShareTheByteBudget() throws Exception {
    List<Long> budgets = new ArrayList<>();
    PollingStore store =
        slots.observing(
            new PollingStore() {
              @Override
              public OutboxRows.Fetched fetch(
                  Set<Integer> partitions,
                  int perPartition,
                  Map<Integer, List<String>> excluded,
                  List<PendingEvent> inFlight,
                  Map<Integer, Long> after,
                  long maxBytes) {
                budgets.add(maxBytes);
                return new OutboxRows.Fetched(List.of(), true, List.of(), Set.of(3), false);
              }

              @Override
              public void record(DeliveryOutcome outcome) {}

              @Override
              public Set<Long> pending(java.util.Collection<Long> seqs) {
                return Set.copyOf(seqs);
              }
            },
            1000);
    store.fetch(Set.of(3), 10, Map.of(), List.of(), Map.of(), 1000);
    clock.set(100 * MS);
    store.fetch(Set.of(3), 10, Map.of(), List.of(), Map.of(), 1000);
    assertThat(slots.active()).isEqualTo(2);
    // Two threads: half each. A thread's read ahead gets what its batch in flight left of its
    // half, and at least one row once that is used up.
    store.fetch(Set.of(3), 10, Map.of(), List.of(), Map.of(), 1000);
    store.fetch(Set.of(3), 10, Map.of(), List.of(), Map.of(), 800);
    store.fetch(Set.of(3), 10, Map.of(), List.of(), Map.of(), 300);
    assertThat(budgets).containsExactly(1000L, 1000L, 500L, 300L, 1L);
  }

  /** Owns partitions 0 to 7 and hands a slot those with {@code partition % slots == slot}. */
  private static final class FakeLeases implements PartitionLeases {
    private int open;

    @Override
    public synchronized Set<Integer> beginBatch(int slot, int slots) {
      Set<Integer> mine = new TreeSet<>();
      for (int p = 0; p < PARTITIONS; p++) {
        if (p % slots == slot) {
          mine.add(p);
        }
      }
      if (!mine.isEmpty()) {
        open++;
      }
      return mine;
    }

    @Override
    public boolean stillOwns(Set<Integer> partitions) {
      return true;
    }

    @Override
    public synchronized void endBatch(Set<Integer> partitions) {
      open--;
    }

    synchronized int openBatches() {
      return open;
    }
  }
}
