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
 * @param backlog pending events in the whole outbox at the last measurement, or -1 before the first
 * @param lag age of the oldest pending event at the last measurement; zero when none is pending
 * @param consecutiveFailures batches in a row that had send failures; zero after a clean batch
 * @param circuitState the broker circuit breaker's state ({@code CLOSED}, {@code OPEN}, {@code
 *     HALF_OPEN}, ...)
 * @param lastError the last send or database error, or {@code null}
 * @param lastBatchAt when the last batch finished, or {@code null}
 */
public record RelayStatus(
    String instanceId,
    State state,
    Set<Integer> ownedPartitions,
    long backlog,
    Duration lag,
    int consecutiveFailures,
    String circuitState,
    @Nullable String lastError,
    @Nullable Instant lastBatchAt) {

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
