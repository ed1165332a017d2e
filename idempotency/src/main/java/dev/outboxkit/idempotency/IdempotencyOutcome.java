package dev.outboxkit.idempotency;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * What {@link Idempotency#execute} did. A closed set: switch over it.
 *
 * <pre>{@code
 * IdempotencyOutcome<Receipt> outcome =
 *     idempotency.execute(key, fingerprint, Receipt.class, () -> charge(card));
 * if (outcome instanceof Executed<Receipt> || outcome instanceof Replayed<Receipt>) {
 *   return ok(outcome.result());       // replayed: the first call's result, work not run again
 * } else if (outcome instanceof Mismatch<Receipt>) {
 *   return unprocessable();            // same key, different request
 * } else {
 *   return conflict();                 // InFlight: the first call is still running
 * }
 * }</pre>
 *
 * @param <T> the result type
 */
public sealed interface IdempotencyOutcome<T> {

  /**
   * The result, when the work ran now or before.
   *
   * @throws IdempotencyKeyMismatchException for {@link Mismatch}
   * @throws IdempotencyKeyInFlightException for {@link InFlight}
   */
  @Nullable T result();

  /**
   * The metric tag of this outcome: {@code executed}, {@code replayed}, {@code mismatch}, {@code
   * conflict}.
   */
  String tag();

  /**
   * The work ran in this call and its result is stored with the key.
   *
   * @param result what the work returned
   */
  record Executed<T>(@Nullable T result) implements IdempotencyOutcome<T> {
    @Override
    public String tag() {
      return "executed";
    }
  }

  /**
   * The key was used before with the same fingerprint: the work did not run; this is its first
   * result.
   *
   * @param result what the work returned the first time
   * @param firstExecutedAt when the work ran
   */
  record Replayed<T>(@Nullable T result, Instant firstExecutedAt) implements IdempotencyOutcome<T> {
    @Override
    public String tag() {
      return "replayed";
    }
  }

  /**
   * The key was used before for a different request (another fingerprint): nothing ran.
   *
   * @param key the key
   */
  record Mismatch<T>(IdempotencyKey key) implements IdempotencyOutcome<T> {
    @Override
    public @Nullable T result() {
      throw new IdempotencyKeyMismatchException(key);
    }

    @Override
    public String tag() {
      return "mismatch";
    }
  }

  /**
   * Another transaction holds the key and did not finish within the lock timeout: nothing ran.
   * Retry later.
   *
   * @param key the key
   */
  record InFlight<T>(IdempotencyKey key) implements IdempotencyOutcome<T> {
    @Override
    public @Nullable T result() {
      throw new IdempotencyKeyInFlightException(key);
    }

    @Override
    public String tag() {
      return "conflict";
    }
  }
}
