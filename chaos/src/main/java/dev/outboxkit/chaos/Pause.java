package dev.outboxkit.chaos;

import java.time.Duration;

/** Sleeps between polls of a condition, restoring the interrupt and failing if interrupted. */
final class Pause {

  private Pause() {}

  static void millis(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted", e);
    }
  }

  static void of(Duration duration) {
    millis(duration.toMillis());
  }
}
