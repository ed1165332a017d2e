package dev.outboxkit.idempotency;

import dev.outboxkit.idempotency.internal.DefaultIdempotency;
import dev.outboxkit.idempotency.internal.IdempotencySql;
import dev.outboxkit.outbox.NoActiveTransactionException;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import java.util.Collection;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Runs work at most once per idempotency key, recording the key and the work's result in the
 * caller's database transaction.
 *
 * <p><b>First call:</b> the key is inserted, the work runs, its result is stored; all of it commits
 * or rolls back with the caller's own writes, so a rolled-back attempt leaves no key and a retry
 * runs the work. <b>Same key again:</b> the stored result is returned without running the work.
 * <b>Same key, different fingerprint:</b> {@link IdempotencyOutcome.Mismatch}, nothing runs.
 * <b>Concurrent duplicate:</b> it waits (up to the lock timeout) for the first transaction, then
 * replays its result, or, if the first is still running, gets {@link IdempotencyOutcome.InFlight};
 * the work never runs twice. Keys expire after a time to live and are purged in bounded batches by
 * {@link IdempotencyPurger}.
 *
 * <p><b>Failure:</b> claim, work and result storage run inside a savepoint of the caller's
 * transaction. If the work throws, or its result cannot be encoded or stored, the transaction is
 * rolled back to that savepoint, undoing the key <em>and</em> the work's SQL writes, and the
 * exception reaches the caller unchanged. The caller's transaction stays usable (also on PostgreSQL
 * after a failed statement) and its own writes before and after stay; a caller that catches and
 * commits keeps none of the failed work, and a retry runs it afresh. Writes an ORM still holds
 * unflushed in its session are not SQL yet and are not covered: flush inside the work or let the
 * exception roll the transaction back. Use READ COMMITTED (the default of PostgreSQL and of Spring)
 * on PostgreSQL. Thread-safe.
 */
public interface Idempotency {

  /**
   * Runs {@code work} unless the key was used before.
   *
   * @param key the key and its scope
   * @param fingerprint what identifies the request the key was first used for, e.g. a hash of
   *     method, path and body; 1 to 255 characters
   * @param resultType the result's type, to read a stored result back
   * @param work the work; it runs in the caller's transaction and must not commit it
   * @return what happened; never {@code null}
   * @throws RuntimeException what the work or the {@link ResultCodec} threw, after its writes and
   *     the key were rolled back to a savepoint
   * @throws NoActiveTransactionException when no transaction is active
   * @throws InvalidIdempotencyKeyException when the fingerprint is empty or too long
   */
  default <T> IdempotencyOutcome<T> execute(
      IdempotencyKey key, String fingerprint, Class<T> resultType, Supplier<@Nullable T> work) {
    return execute(key, fingerprint, Set.of(), resultType, work);
  }

  /**
   * Runs {@code work} unless the key was used before, also accepting earlier forms of the request's
   * fingerprint: a key stored with any of {@code earlierFingerprints} replays like one stored with
   * {@code fingerprint}. This is how a fingerprint key is rotated without answering retries of keys
   * stored before the rotation as a mismatch; a new key is always stored with {@code fingerprint}.
   *
   * @param key the key and its scope
   * @param fingerprint the request's fingerprint as it is computed now; 1 to 255 characters
   * @param earlierFingerprints the same request's fingerprint as computed before a rotation (e.g.
   *     under previous HMAC keys); empty without rotation. Read only when a stored fingerprint is
   *     not {@code fingerprint}, so a collection that computes them on first read saves that work
   *     on every other request
   * @param resultType the result's type, to read a stored result back
   * @param work the work; it runs in the caller's transaction and must not commit it
   * @return what happened; never {@code null}
   * @throws RuntimeException what the work or the {@link ResultCodec} threw, after its writes and
   *     the key were rolled back to a savepoint
   * @throws NoActiveTransactionException when no transaction is active
   * @throws InvalidIdempotencyKeyException when the fingerprint is empty or too long
   */
  <T> IdempotencyOutcome<T> execute(
      IdempotencyKey key,
      String fingerprint,
      Collection<String> earlierFingerprints,
      Class<T> resultType,
      Supplier<@Nullable T> work);

  /** A builder; {@link Builder#connectionProvider} and {@link Builder#dialect} are required. */
  static Builder builder() {
    return new Builder();
  }

  /** Configures an {@link Idempotency}. */
  final class Builder extends KeyTableBuilder<Builder> {

    private ResultCodec codec = ResultCodec.json();

    private Builder() {
      super(OutboxTable.of(IdempotencyDefaults.KEY_TABLE), IdempotencyDefaults.KEY_TTL);
    }

    /**
     * How results are stored. Default: JSON with a private Jackson mapper.
     *
     * @param codec the codec
     */
    public Builder resultCodec(ResultCodec codec) {
      this.codec = Objects.requireNonNull(codec, "resultCodec");
      return this;
    }

    /**
     * Builds it. Does no I/O.
     *
     * @throws IllegalStateException when a required option is missing
     */
    public Idempotency build() {
      ConnectionProvider connections = requiredConnectionProvider("Idempotency.builder()");
      return new DefaultIdempotency(
          connections,
          IdempotencySql.of(Objects.requireNonNull(dialect), table),
          ttl,
          lockTimeout,
          codec,
          clock,
          meterRegistry);
    }
  }
}
