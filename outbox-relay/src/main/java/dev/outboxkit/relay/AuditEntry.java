package dev.outboxkit.relay;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * One record of the audit trail: who did what to parked events, when, from where, to which events,
 * and how it ended. Text fields hold sanitised, length-capped values (no control characters).
 *
 * @param id the record's number, increasing in the order records were written
 * @param at when the operation ran, by the relay's clock
 * @param principal who ran it ({@link AuditActor#principal()})
 * @param sourceAddress where the request came from, or {@code null}
 * @param operation what was done
 * @param target the events it concerned: {@code ids=…} (the requested ids, or for {@code all} and
 *     retention the ids it resolved to), above {@link #MAX_LISTED_IDS} ids their count and the
 *     first and last id; {@code limit=…} for a listing; for a refused call a capped, sanitised form
 *     of what the caller sent
 * @param count how many events the operation changed or returned (0 when refused or failed)
 * @param outcome how it ended
 * @param reason why it was refused or failed, or {@code null} when it succeeded
 * @since 0.7
 */
public record AuditEntry(
    long id,
    Instant at,
    String principal,
    @Nullable String sourceAddress,
    Operation operation,
    String target,
    int count,
    Outcome outcome,
    @Nullable String reason) {

  /** Above this many ids a record keeps their count and the first and last id instead. */
  public static final int MAX_LISTED_IDS = 100;

  /** The audited operations on parked events. */
  public enum Operation {
    /** A listing of parked events (their ids, keys, types and errors were read). */
    LIST,
    /** Parked events put back in the queue. */
    REPLAY,
    /** Parked events deleted for good by an operator. */
    PURGE,
    /** Parked events deleted by the retention setting ({@code outbox.relay.parked.retention}). */
    RETENTION_PURGE
  }

  /** How an audited operation ended. */
  public enum Outcome {
    /** It ran and its change committed together with this record. */
    OK,
    /** It was refused before it ran (authentication, role, invalid input): nothing changed. */
    REFUSED,
    /** It ran and failed: its change was rolled back, this record was written afterwards. */
    FAILED
  }
}
