package dev.outboxkit.spring.autoconfigure;

import java.time.Duration;
import java.util.Objects;

/**
 * Range checks of the starter's own properties, with the message shape of the modules' builders
 * (property, allowed range, value given). The relay's options are checked by the relay's public
 * configuration type; this covers the properties no module type checks for the starter.
 */
final class PropertyChecks {

  private PropertyChecks() {}

  static int between(String property, int value, int min, int max) {
    between(property, (long) value, min, max);
    return value;
  }

  static void between(String property, long value, long min, long max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          property + " must be between " + min + " and " + max + " but was " + value);
    }
  }

  static Duration atLeast(String property, Duration value, Duration min) {
    Objects.requireNonNull(value, property);
    if (value.compareTo(min) < 0) {
      throw new IllegalArgumentException(
          property + " must be at least " + min + " but was " + value);
    }
    return value;
  }
}
