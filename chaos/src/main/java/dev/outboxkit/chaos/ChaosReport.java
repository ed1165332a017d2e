package dev.outboxkit.chaos;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * The outcome of a run: what was done, what the ledger check found, and every violation. A run is
 * {@link #valid()} when neither the kit nor a relay process was starved of CPU or stopped by
 * garbage collection beyond the limit ({@link StarvationWatch}); a run that was is neither a pass
 * nor a failure, since its timing checks measured the machine. A valid run passes when {@link
 * #violations()} is empty.
 *
 * @param environment the servers used
 * @param mode polling or CDC
 * @param seed the fault schedule's seed
 * @param cycles fault cycles injected
 * @param faultsByType injections per fault name
 * @param skippedFaults faults asked for that cannot run here, with the reason
 * @param events events whose commit returned
 * @param inDoubt events whose commit failed (may or may not have committed)
 * @param inDoubtDelivered of those, the ones delivered (they had committed)
 * @param writerRollbacks writer transactions the database rolled back by itself (a deadlock, a lock
 *     timeout): a violation, since only the relay's locks or the idempotency purge can cause one
 * @param keys the writers' idempotency keys and inbox entries, and the purge's work
 * @param records records read back (every copy)
 * @param lost committed events never delivered
 * @param reordered first copies that came after a later event of their key
 * @param duplicates copies beyond the first
 * @param duplicateBound the stated bound on duplicates (see docs/chaos.md)
 * @param unknown records that no writer wrote
 * @param poisonEvents poison events committed (see {@code missing-dead-letter-topic})
 * @param poisonParked of those, the ones parked (the rest were dropped: a violation)
 * @param takeoverMillis per kill or pause of a relay holding partitions: time to the next publish
 *     of every partition it held
 * @param recoveryMillis per database fault: time from its end to the next publish of every
 *     partition
 * @param stallMillis per fault that must not hold other keys up: time from its start to the next
 *     publish of every partition
 * @param timesByFault the takeover, recovery and stall times by fault name, in injection order
 * @param stuckPartitions partitions that published nothing for longer than the stuck bound after a
 *     fault, or never again
 * @param violations every broken guarantee, one line each
 * @param examples a few offending records per violation kind
 * @param starvation every starvation episode of the kit or a relay, one line each; any makes the
 *     run invalid
 * @param durationSeconds the run's wall-clock time
 */
public record ChaosReport(
    String environment,
    String mode,
    long seed,
    int cycles,
    Map<String, Integer> faultsByType,
    Map<String, String> skippedFaults,
    long events,
    long inDoubt,
    long inDoubtDelivered,
    long writerRollbacks,
    KeyFigures keys,
    long records,
    long lost,
    long reordered,
    long duplicates,
    long duplicateBound,
    long unknown,
    long poisonEvents,
    long poisonParked,
    List<Long> takeoverMillis,
    List<Long> recoveryMillis,
    List<Long> stallMillis,
    Map<String, List<Long>> timesByFault,
    List<String> stuckPartitions,
    List<String> violations,
    List<String> examples,
    List<String> starvation,
    long durationSeconds) {

  /**
   * What the writers did with idempotency keys and inbox entries ({@link KeyClaims}) and what the
   * purge did ({@link PurgeLoop}). Outcomes are counted as the calls returned, also in transactions
   * that failed afterwards.
   *
   * @param enabled whether the writers claimed keys (else every figure is 0)
   * @param executed keys claimed anew (new, or replacing an expired one)
   * @param replayed keys found with their stored result
   * @param inFlight keys answered as in flight
   * @param blocked keys or inbox entries whose claim waited the lock timeout (a violation)
   * @param mismatched keys answered as a mismatch (a violation: the writers use one fingerprint)
   * @param inboxProcessed inbox entries recorded
   * @param inboxDuplicates inbox entries found already there
   * @param purges purges run
   * @param purged rows the purges deleted, keys and inbox entries
   * @param claimExamples up to three blocked or mismatched claims
   * @param purgeFailures purges that failed: no violation when a fault did it
   * @param purgeRollbacks of those, the ones the database rolled back by itself (a deadlock or a
   *     lock wait timeout): a violation, since the purge must never wait for a row
   * @param purgeFailureExamples up to three of the purges rolled back by the database, then up to
   *     three other failures
   */
  public record KeyFigures(
      boolean enabled,
      long executed,
      long replayed,
      long inFlight,
      long blocked,
      long mismatched,
      long inboxProcessed,
      long inboxDuplicates,
      long purges,
      long purged,
      List<String> claimExamples,
      long purgeFailures,
      long purgeRollbacks,
      List<String> purgeFailureExamples) {

    public KeyFigures {
      claimExamples = List.copyOf(claimExamples);
      purgeFailureExamples = List.copyOf(purgeFailureExamples);
    }

    /** The figures of a run without keys. */
    public static KeyFigures none() {
      return new KeyFigures(false, 0, 0, 0, 0, 0, 0, 0, 0, 0, List.of(), 0, 0, List.of());
    }

    /** Keys claimed: executed, replayed, in flight, mismatched. */
    @JsonProperty("claimed")
    public long claimed() {
      return executed + replayed + inFlight + mismatched;
    }
  }

  /** Whether the run measured the relay: no process of it was starved. */
  @JsonProperty("valid")
  public boolean valid() {
    return starvation.isEmpty();
  }

  /** Whether the run was valid and every guarantee held. */
  @JsonProperty("passed")
  public boolean passed() {
    return valid() && violations.isEmpty();
  }

  /** {@code PASSED}, {@code FAILED}, or {@code INVALID} when a process was starved. */
  @JsonProperty("result")
  public String result() {
    return !valid() ? "INVALID" : passed() ? "PASSED" : "FAILED";
  }

  /** The median of takeover times, or -1 without any. */
  @JsonProperty("takeoverP50Millis")
  public long takeoverP50() {
    return percentile(takeoverMillis, 50);
  }

  /** The longest takeover, or -1 without any. */
  @JsonProperty("takeoverMaxMillis")
  public long takeoverMax() {
    return percentile(takeoverMillis, 100);
  }

  static long percentile(List<Long> values, int percentile) {
    if (values.isEmpty()) {
      return -1;
    }
    List<Long> sorted = values.stream().sorted().toList();
    int index = (int) Math.ceil(percentile / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
  }

  /** The report as people read it. */
  public String toText() {
    StringBuilder out = new StringBuilder();
    out.append("OutboxKit chaos run: ").append(result());
    if (!valid()) {
      out.append(" (starved: the figures measure the machine, not the relay; run it again on a")
          .append(" quieter machine)");
    }
    out.append('\n');
    out.append("  environment   ").append(environment).append('\n');
    out.append("  mode          ").append(mode).append(", seed ").append(seed).append('\n');
    out.append("  cycles        ").append(cycles).append(' ').append(faultsByType).append('\n');
    skippedFaults.forEach(
        (fault, why) ->
            out.append("  skipped       ").append(fault).append(": ").append(why).append('\n'));
    out.append("  events        ")
        .append(events)
        .append(" committed, ")
        .append(inDoubt)
        .append(" in doubt (")
        .append(inDoubtDelivered)
        .append(" of them delivered), ")
        .append(writerRollbacks)
        .append(" rolled back by the database\n");
    if (keys.enabled()) {
      out.append("  idem. keys    ")
          .append(keys.claimed())
          .append(" claimed (")
          .append(keys.executed())
          .append(" executed, ")
          .append(keys.replayed())
          .append(" replayed, ")
          .append(keys.inFlight())
          .append(" in flight, ")
          .append(keys.blocked())
          .append(" blocked), inbox ")
          .append(keys.inboxProcessed())
          .append(" processed, ")
          .append(keys.inboxDuplicates())
          .append(" duplicates\n");
      out.append("  purge         ")
          .append(keys.purges())
          .append(" runs, ")
          .append(keys.purged())
          .append(" rows purged, ")
          .append(keys.purgeFailures())
          .append(" failed (")
          .append(keys.purgeRollbacks())
          .append(" rolled back by the database)\n");
      keys.purgeFailureExamples()
          .forEach(e -> out.append("    purge failed: ").append(e).append('\n'));
    }
    out.append("  records       ").append(records).append('\n');
    out.append("  lost          ").append(lost).append('\n');
    out.append("  reordered     ").append(reordered).append('\n');
    out.append("  duplicates    ")
        .append(duplicates)
        .append(" (bound ")
        .append(duplicateBound)
        .append(")\n");
    out.append("  unknown       ").append(unknown).append('\n');
    out.append("  takeover      ")
        .append(takeoverMillis.size())
        .append(" measured, p50 ")
        .append(takeoverP50())
        .append(" ms, max ")
        .append(takeoverMax())
        .append(" ms\n");
    out.append("  recovery      ")
        .append(recoveryMillis.size())
        .append(" measured, p50 ")
        .append(percentile(recoveryMillis, 50))
        .append(" ms, max ")
        .append(percentile(recoveryMillis, 100))
        .append(" ms\n");
    if (poisonEvents > 0) {
      out.append("  poison        ")
          .append(poisonEvents)
          .append(" committed, ")
          .append(poisonParked)
          .append(" parked\n");
    }
    timesByFault.forEach(
        (fault, times) ->
            out.append("  ")
                .append(fault)
                .append(": ")
                .append(times.size())
                .append(" measured, p50 ")
                .append(percentile(times, 50))
                .append(" ms, max ")
                .append(percentile(times, 100))
                .append(" ms\n"));
    out.append("  stuck         ")
        .append(stuckPartitions.isEmpty() ? "none" : stuckPartitions)
        .append('\n');
    out.append("  duration      ").append(durationSeconds).append(" s\n");
    starvation.forEach(s -> out.append("  STARVED       ").append(s).append('\n'));
    String label = valid() ? "  VIOLATION     " : "  (not judged)  ";
    violations.forEach(v -> out.append(label).append(v).append('\n'));
    examples.forEach(e -> out.append("    e.g. ").append(e).append('\n'));
    return out.toString();
  }
}
