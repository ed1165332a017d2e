package dev.outboxkit.relay;

import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The audit trail of operations on parked events, kept in the {@code outbox_audit} table (schema
 * script {@code dev/outboxkit/schema/<dialect>/V0_7__outboxkit_audit.sql}). Changes made through
 * {@link ParkedEvents} write their record in the same transaction as the change; a failed change
 * leaves a {@link AuditEntry.Outcome#FAILED} record written in a transaction of its own afterwards.
 * Each record is also logged as a structured event on the {@code dev.outboxkit.audit} logger.
 *
 * @since 0.7
 */
public interface AuditTrail {

  /**
   * Records an operation refused before it ran (no principal, missing role, invalid input), in a
   * transaction of its own.
   *
   * @param actor who asked
   * @param operation what was asked
   * @param target what the caller sent (any text: it is sanitised and capped before it is stored)
   * @param reason why it was refused
   */
  void refused(AuditActor actor, AuditEntry.Operation operation, String target, String reason);

  /**
   * The newest records first, one page at a time.
   *
   * @param limit the most to return, 1 to 1000
   * @param before only records with an id below this one (the last id of the previous page), or
   *     {@code null} for the newest
   * @throws IllegalArgumentException when {@code limit} is out of range
   */
  List<AuditEntry> list(int limit, @Nullable Long before);
}
