package dev.outboxkit.idempotency.internal;

import dev.outboxkit.idempotency.Idempotency;
import dev.outboxkit.idempotency.IdempotencyKey;
import dev.outboxkit.idempotency.IdempotencyKeyInFlightException;
import dev.outboxkit.idempotency.IdempotencyOutcome;
import dev.outboxkit.idempotency.InvalidIdempotencyKeyException;
import dev.outboxkit.idempotency.ResultCodec;
import dev.outboxkit.outbox.NoActiveTransactionException;
import dev.outboxkit.outbox.OutboxStoreException;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collection;
import java.util.Objects;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Claims the key with an insert-if-absent in the caller's transaction, then runs the work (key
 * inserted), replays (key committed earlier with the same fingerprint), reports a mismatch, or
 * reports the key in flight (a concurrent transaction held it past the lock timeout). Claim, work
 * and result run inside one savepoint, so a failure of any of them rolls back exactly those, key
 * and the work's writes together, and leaves the caller's transaction usable.
 */
public final class DefaultIdempotency implements Idempotency {

  private final ConnectionProvider connections;
  private final IdempotencySql sql;
  private final Duration ttl;
  private final Duration lockTimeout;
  private final ResultCodec codec;
  private final Clock clock;
  private final MeterRegistry registry;

  public DefaultIdempotency(
      ConnectionProvider connections,
      IdempotencySql sql,
      Duration ttl,
      Duration lockTimeout,
      ResultCodec codec,
      Clock clock,
      MeterRegistry registry) {
    this.connections = connections;
    this.sql = sql;
    this.ttl = ttl;
    this.lockTimeout = lockTimeout;
    this.codec = codec;
    this.clock = clock;
    this.registry = registry;
  }

  @Override
  public <T> IdempotencyOutcome<T> execute(
      IdempotencyKey key,
      String fingerprint,
      Collection<String> earlierFingerprints,
      Class<T> resultType,
      Supplier<@Nullable T> work) {
    if (fingerprint == null || fingerprint.isEmpty() || fingerprint.length() > 255) {
      throw new InvalidIdempotencyKeyException("fingerprint must be 1 to 255 characters");
    }
    // Not copied here: a caller may compute them lazily (the HTTP filter's HMACs under previous
    // keys), and they are read only when a stored fingerprint is not the current one.
    Fingerprints fingerprints =
        new Fingerprints(
            fingerprint, Objects.requireNonNull(earlierFingerprints, "earlierFingerprints"));
    IdempotencyOutcome<T> outcome;
    try {
      outcome =
          connections.withTransactionConnection(
              connection -> {
                if (connection.getAutoCommit()) {
                  throw new NoActiveTransactionException(
                      "Idempotency needs a transaction: the key must commit with the work's writes");
                }
                if (sql.sendsStatementsTogether()) {
                  // SAVEPOINT goes with the claim, RELEASE with the result: two round trips.
                  return Savepoints.piggybacked(
                      connection,
                      connections,
                      savepoint ->
                          claimAndRun(connection, savepoint, key, fingerprints, resultType, work));
                }
                return Savepoints.around(
                    connection,
                    connections,
                    sql.savepointNeedsRelease(),
                    () -> claimAndRun(connection, null, key, fingerprints, resultType, work));
              });
    } catch (DialectSupport.TransactionLostException e) {
      counter("conflict").increment();
      throw new IdempotencyKeyInFlightException(key, e);
    } catch (SQLException e) {
      throw new OutboxStoreException("Could not record idempotency key '" + key.key() + "'", e);
    }
    counter(outcome.tag()).increment();
    return outcome;
  }

  /**
   * @param savepoint the savepoint whose statements ride along with the claim and the result, or
   *     {@code null} when the caller took one already
   */
  private <T> IdempotencyOutcome<T> claimAndRun(
      Connection connection,
      Savepoints.@Nullable Piggyback savepoint,
      IdempotencyKey key,
      Fingerprints fingerprints,
      Class<T> resultType,
      Supplier<@Nullable T> work)
      throws SQLException {
    String fingerprint = fingerprints.current();
    Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
    DialectSupport.Claim claim =
        sql.claim(
            connection,
            savepoint == null ? null : savepoint.begin(),
            key,
            fingerprint,
            now,
            now.plus(ttl),
            lockTimeout);
    if (claim == DialectSupport.Claim.EXISTS) {
      IdempotencySql.StoredKey stored = sql.find(connection, key);
      if (stored == null) {
        // The row went between the claim and the read: where the claim takes no lock on the row it
        // conflicts with (PostgreSQL), the purge or a caller replacing the expired key deleted it.
        // The key is absent now: claim it once more (a row committed by a transaction this one's
        // snapshot cannot see comes back as EXISTS again and is answered as before).
        claim = sql.claim(connection, key, fingerprint, now, now.plus(ttl), lockTimeout);
        if (claim == DialectSupport.Claim.EXISTS) {
          return existing(sql.find(connection, key), key, fingerprints, resultType, now);
        }
      } else if (stored.expiresAt().isBefore(now)) {
        // An expired key counts as absent: remove it (bounded wait, as a concurrent caller may be
        // replacing it too) and claim afresh.
        if (!sql.deleteExpired(connection, key, now, lockTimeout)) {
          return new IdempotencyOutcome.InFlight<>(key);
        }
        claim = sql.claim(connection, key, fingerprint, now, now.plus(ttl), lockTimeout);
        if (claim == DialectSupport.Claim.EXISTS) {
          // A concurrent caller replaced it first and committed: answer from its key.
          return existing(sql.find(connection, key), key, fingerprints, resultType, now);
        }
      } else {
        return existing(stored, key, fingerprints, resultType, now);
      }
    }
    if (claim == DialectSupport.Claim.LOCKED) {
      return new IdempotencyOutcome.InFlight<>(key);
    }
    // If the work, the encoding or the update throws, Savepoints.around undoes the key and the
    // work's writes together.
    T result = work.get();
    byte @Nullable [] encoded = codec.encode(key, result);
    if (savepoint == null) {
      sql.saveResult(connection, key, encoded);
    } else {
      sql.saveResult(connection, key, encoded, savepoint.release());
      savepoint.released();
    }
    return new IdempotencyOutcome.Executed<>(result);
  }

  private <T> IdempotencyOutcome<T> existing(
      IdempotencySql.@Nullable StoredKey stored,
      IdempotencyKey key,
      Fingerprints fingerprints,
      Class<T> resultType,
      Instant now) {
    if (stored == null || stored.expiresAt().isBefore(now)) {
      // Committed by another transaction but not visible here (a snapshot older than the key), or
      // deleted again meanwhile: let the caller retry.
      return new IdempotencyOutcome.InFlight<>(key);
    }
    return fingerprints.matches(stored.fingerprint())
        ? new IdempotencyOutcome.Replayed<>(
            decoded(key, stored.result(), resultType), stored.createdAt())
        : new IdempotencyOutcome.Mismatch<>(key);
  }

  private <T> @Nullable T decoded(IdempotencyKey key, byte @Nullable [] result, Class<T> type) {
    try {
      return codec.decode(key, result, type);
    } catch (RuntimeException e) {
      throw new dev.outboxkit.idempotency.IdempotencyResultUnreadableException(key, e);
    }
  }

  /** The request's fingerprint now, and as it was computed before a key rotation. */
  private record Fingerprints(String current, Collection<String> earlier) {
    boolean matches(String stored) {
      return stored.equals(current) || earlier.contains(stored);
    }
  }

  private Counter counter(String outcome) {
    return Counter.builder("idempotency.requests")
        .description("Idempotent operations by outcome")
        .tag("outcome", outcome)
        .register(registry);
  }
}
