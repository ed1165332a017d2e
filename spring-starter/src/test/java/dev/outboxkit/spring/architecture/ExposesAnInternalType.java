package dev.outboxkit.spring.architecture;

import dev.outboxkit.outbox.internal.JdbcOutboxStore;
import java.util.Optional;

/**
 * A fixture of {@link ModuleBoundaryRuleTests}: a public type of an API package whose public method
 * hands out an internal type, inside a type argument.
 */
public final class ExposesAnInternalType {

  /** Breaks the rule: a caller would have to name the internal store. */
  public Optional<JdbcOutboxStore> store() {
    return Optional.empty();
  }
}
