package dev.outboxkit.outbox;

import java.time.Duration;
import java.util.Objects;

/**
 * The range checks of every OutboxKit builder and properties class, so each option fails with the
 * same message shape: the option or property name, the allowed range, the value given.
 *
 * <p>Public so that the modules share this one implementation (a module does not use another's
 * internal packages); it is meant for OutboxKit's own option types, applications need not use it.
 */
public final class OptionChecks {

  private OptionChecks() {}

  /**
   * @param name the option or property, as the user writes it
   * @return {@code value}
   * @throws IllegalArgumentException when {@code value} is outside {@code [min, max]}
   */
  public static int between(String name, int value, int min, int max) {
    between(name, (long) value, min, max);
    return value;
  }

  /**
   * @param name the option or property, as the user writes it
   * @throws IllegalArgumentException when {@code value} is outside {@code [min, max]}
   */
  public static void between(String name, long value, long min, long max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          name + " must be between " + min + " and " + max + " but was " + value);
    }
  }

  /**
   * @param name the option or property, as the user writes it
   * @return {@code value}
   * @throws IllegalArgumentException when {@code value} is shorter than {@code min}
   * @throws NullPointerException naming the option when {@code value} is null
   */
  public static Duration atLeast(String name, Duration value, Duration min) {
    Objects.requireNonNull(value, name);
    if (value.compareTo(min) < 0) {
      throw new IllegalArgumentException(name + " must be at least " + min + " but was " + value);
    }
    return value;
  }
}
