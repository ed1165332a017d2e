package dev.outboxkit.outbox;

import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * An event was rejected before anything was written: a missing or over-long field, a bad header, a
 * payload over the size limit or one that could not be serialized.
 *
 * <p>The caller's transaction is untouched and may still commit or roll back; the rejected event
 * was never in it.
 */
public class InvalidEventException extends OutboxException {

  private static final long serialVersionUID = 1L;

  private final List<String> violations;

  /**
   * @param violations one message per problem found, each naming the field
   */
  public InvalidEventException(List<String> violations) {
    super("Invalid outbox event: " + String.join("; ", violations));
    this.violations = List.copyOf(violations);
  }

  /**
   * @param violations one message per problem found, each naming the field
   * @param cause the failure behind one of them, e.g. from the serializer, or {@code null}
   */
  public InvalidEventException(List<String> violations, @Nullable Throwable cause) {
    super("Invalid outbox event: " + String.join("; ", violations), cause);
    this.violations = List.copyOf(violations);
  }

  /** One message per problem found, each naming the field. */
  public List<String> violations() {
    return violations;
  }
}
