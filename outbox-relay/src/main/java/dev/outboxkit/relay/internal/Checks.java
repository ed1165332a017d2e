package dev.outboxkit.relay.internal;

import java.time.Duration;
import java.util.Objects;

/**
 * The range checks of the relay's options, so each fails with the same message shape as the core's
 * (the option or property name, the allowed range, the value given). A copy of the core's internal
 * {@code Checks} on purpose: modules do not use each other's internals, and these few lines are not
 * worth a public type.
 */
public final class Checks {

  private Checks() {}

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
