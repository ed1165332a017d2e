package dev.outboxkit.relay;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Who changes or reads parked events, as the audit trail records it: the authenticated principal's
 * name and, when known, the network address the request came from. Both are caller-influenced text;
 * the trail stores and logs them sanitised and length-capped.
 *
 * @param principal the name of the authenticated caller, never blank
 * @param sourceAddress the client address (e.g. from the HTTP request), or {@code null} when the
 *     call did not come over a network
 * @since 0.7
 */
public record AuditActor(String principal, @Nullable String sourceAddress) {

  /** The actor of calls made by the application itself through the Java API. */
  public static final AuditActor APPLICATION = new AuditActor("application", null);

  /** The actor of the relay's own scheduled retention purge. */
  public static final AuditActor RETENTION = new AuditActor("outboxkit-retention", null);

  /**
   * @throws IllegalArgumentException when {@code principal} is blank
   */
  public AuditActor {
    Objects.requireNonNull(principal, "principal");
    if (principal.isBlank()) {
      throw new IllegalArgumentException("principal must not be blank");
    }
  }
}
