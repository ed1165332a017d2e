package dev.outboxkit.relay;

import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A snapshot of a relay instance, for health checks and operators.
 *
 * @param instanceId this instance's id in the lease tables
 * @param state the lifecycle state
 * @param ownedPartitions the outbox partitions this instance holds leases on
 * @param backlog pending events in the whole outbox at the last measurement, or -1 when unknown
 *     (before the first, or the last one failed)
 * @param lag age of the oldest pending event at the last measurement (CDC: the source lag); zero
 *     when none is pending; {@code null} when unknown: before the first measurement, after a failed
 *     one, and in CDC while no engine runs here or the engine has read nothing yet
 * @param consecutiveFailures batches in a row that had send failures; zero after a clean batch
 * @param circuitState the broker circuit breaker's state ({@code CLOSED}, {@code OPEN}, {@code
 *     HALF_OPEN}, ...)
 * @param lastError the last send or database error, or {@code null}
 * @param lastBatchAt when the last batch finished, or {@code null}
 * @param stalled why this instance is stalled, or {@code null}: work waited (a backlog, a change
 *     stream to read, or measurements that kept failing) and nothing was published, parked or
 *     acknowledged for the stall timeout ({@code RelayConfig.Builder#stallTimeout})
 */
public record RelayStatus(
    String instanceId,
    State state,
    Set<Integer> ownedPartitions,
    long backlog,
    @Nullable Duration lag,
    int consecutiveFailures,
    String circuitState,
    @Nullable String lastError,
    @Nullable Instant lastBatchAt,
    @Nullable String stalled) {

  /** A status of a relay that is not stalled (for tests and relays without a stall check). */
  public RelayStatus(
      String instanceId,
      State state,
      Set<Integer> ownedPartitions,
      long backlog,
      @Nullable Duration lag,
      int consecutiveFailures,
      String circuitState,
      @Nullable String lastError,
      @Nullable Instant lastBatchAt) {
    this(
        instanceId,
        state,
        ownedPartitions,
        backlog,
        lag,
        consecutiveFailures,
        circuitState,
        lastError,
        lastBatchAt,
        null);
  }

  /**
   * Whether this instance publishes now: it holds partitions (polling) or the engine's lease (CDC).
   * {@code false} for a standby, or an instance whose leases lapsed.
   */
  public boolean active() {
    return !ownedPartitions.isEmpty();
  }

  /** The lifecycle of a relay. */
  public enum State {
    /** Built, not started. */
    NEW,
    /** Publishing. */
    RUNNING,
    /** Holding its leases and measuring, but not publishing. */
    PAUSED,
    /** Finishing its in-flight batch and releasing its leases. */
    STOPPING,
    /** Stopped; cannot be started again. */
    STOPPED,
    /**
     * A publishing thread died of an error it could not handle (an {@code OutOfMemoryError}, a
     * {@code LinkageError}); the relay released its leases so that other instances take over, and
     * publishes nothing. {@code lastError} names the cause. Close it and start a new relay (or
     * restart the process). Health reports it DOWN.
     */
    FAILED
  }
}
