package dev.outboxkit.chaos;

import dev.outboxkit.idempotency.Idempotency;
import dev.outboxkit.idempotency.IdempotencyKey;
import dev.outboxkit.idempotency.IdempotencyKeyInFlightException;
import dev.outboxkit.idempotency.IdempotencyOutcome;
import dev.outboxkit.idempotency.Inbox;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import dev.outboxkit.outbox.spi.OutboxDialect;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The writers' idempotency keys and inbox entries: in each transaction, before its events, a writer
 * claims {@link KeyLoad#perTransaction()} keys through {@link Idempotency#execute} and records as
 * many message ids in the {@link Inbox}, the next ones of a rotating set of twice that many of its
 * own (scope and consumer {@code outboxkit-chaos-w<writer>}), in a shuffled order. The keys live
 * {@link KeyLoad#ttl()}, so they keep expiring while the writers use them: an expired key is
 * replaced in the writer's transaction, an expired inbox entry stays a duplicate until the purge
 * ({@link PurgeLoop}) deletes it. Replayed or executed, duplicate or processed, the events are
 * appended all the same, so the ledger does not depend on it.
 *
 * <p>The writers share no key, so only the purge can take a writer's row from under it. A purge
 * that deadlocks with a writer makes the database roll the writer's transaction back ({@link
 * IdempotencyKeyInFlightException} with the database's error as its cause): it fails the run as a
 * writer rollback. A purge that makes a writer wait past the lock timeout ({@value
 * #LOCK_TIMEOUT_SECONDS} s) shows as a key in flight or an inbox entry held, after that wait: it is
 * counted as blocked and is a violation too. A key in flight answered at once (PostgreSQL: the
 * purge deleted the expired key between the writer's claim and its read) is only counted.
 */
final class KeyClaims {

  private static final Logger log = LoggerFactory.getLogger(KeyClaims.class);

  static final int LOCK_TIMEOUT_SECONDS = 2;

  /** The start of every scope and consumer of the kit's (a constant: spliced into a delete). */
  static final String SCOPE_PREFIX = "outboxkit-chaos-w";

  /** A wait this long or longer was the lock timeout (less a margin for the clock's grain). */
  static final Duration BLOCKED_AFTER = Duration.ofMillis(LOCK_TIMEOUT_SECONDS * 1000 - 200);

  private final KeyLoad load;
  private final Idempotency idempotency;
  private final Inbox inbox;
  private final AtomicLong executed = new AtomicLong();
  private final AtomicLong replayed = new AtomicLong();
  private final AtomicLong inFlight = new AtomicLong();
  private final AtomicLong blocked = new AtomicLong();
  private final AtomicLong mismatched = new AtomicLong();
  private final AtomicLong processed = new AtomicLong();
  private final AtomicLong duplicates = new AtomicLong();
  private final List<String> examples = new ArrayList<>();

  KeyClaims(KeyLoad load, ConnectionProvider connections, OutboxDialect dialect) {
    this.load = load;
    Duration lockTimeout = Duration.ofSeconds(LOCK_TIMEOUT_SECONDS);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    this.idempotency =
        Idempotency.builder()
            .connectionProvider(connections)
            .dialect(dialect)
            .ttl(load.ttl())
            .lockTimeout(lockTimeout)
            .meterRegistry(registry)
            .build();
    this.inbox =
        Inbox.builder()
            .connectionProvider(connections)
            .dialect(dialect)
            .ttl(load.ttl())
            .lockTimeout(lockTimeout)
            .meterRegistry(registry)
            .build();
  }

  /** The scope of a writer's keys, and the consumer of its inbox entries. */
  static String scope(int writer) {
    return SCOPE_PREFIX + writer;
  }

  /** One writer's rotation; used by that writer's thread only. */
  Rotation forWriter(int writer, long seed) {
    return new Rotation(writer, new Random(seed * 31 + writer));
  }

  final class Rotation {
    private final int writer;
    private final Random random;
    private final int size = load.perTransaction() * KeyLoad.ROTATION;
    private int cursor;

    private Rotation(int writer, Random random) {
      this.writer = writer;
      this.random = random;
    }

    /**
     * Claims the next keys and records the next inbox ids, in the caller's transaction.
     *
     * @throws IdempotencyKeyInFlightException when the database rolled the transaction back
     */
    void claimNext() {
      List<Integer> next = new ArrayList<>(load.perTransaction());
      for (int i = 0; i < load.perTransaction(); i++) {
        next.add((cursor + i) % size);
      }
      cursor = (cursor + load.perTransaction()) % size;
      String scope = scope(writer);
      Collections.shuffle(next, random);
      for (int i : next) {
        claimKey(IdempotencyKey.of(scope, "k" + i));
      }
      Collections.shuffle(next, random);
      for (int i : next) {
        record(scope, "m" + i);
      }
    }

    private void claimKey(IdempotencyKey key) {
      long started = System.nanoTime();
      IdempotencyOutcome<String> outcome =
          idempotency.execute(key, "chaos", String.class, key::key);
      if (outcome instanceof IdempotencyOutcome.Executed<String>) {
        executed.incrementAndGet();
      } else if (outcome instanceof IdempotencyOutcome.Replayed<String>) {
        replayed.incrementAndGet();
      } else if (outcome instanceof IdempotencyOutcome.Mismatch<String>) {
        mismatched.incrementAndGet();
        example("writer " + writer + ": key " + key.key() + " answered as a mismatch");
      } else {
        inFlight.incrementAndGet();
        waited(started, "key " + key.key() + " in flight");
      }
    }

    private void record(String consumer, String messageId) {
      long started = System.nanoTime();
      try {
        if (inbox.process(consumer, messageId, () -> {})) {
          processed.incrementAndGet();
        } else {
          duplicates.incrementAndGet();
        }
      } catch (IdempotencyKeyInFlightException e) {
        if (e.getCause() != null) {
          throw e; // the database rolled the transaction back: the writer's check counts it
        }
        waited(started, "inbox entry " + messageId + " held");
      }
    }

    private void waited(long started, String what) {
      long millis = Duration.ofNanos(System.nanoTime() - started).toMillis();
      if (millis >= BLOCKED_AFTER.toMillis()) {
        blocked.incrementAndGet();
        String line =
            "writer " + writer + ": " + what + " after waiting " + millis + " ms for its lock";
        example(line);
        log.warn("Blocked: {}", line);
      }
    }
  }

  private void example(String line) {
    synchronized (examples) {
      if (examples.size() < 3) {
        examples.add(line);
      }
    }
  }

  long executed() {
    return executed.get();
  }

  long replayed() {
    return replayed.get();
  }

  long inFlight() {
    return inFlight.get();
  }

  /** Claims that waited the lock timeout for a row only the purge can have held. */
  long blocked() {
    return blocked.get();
  }

  /** Claims answered as a mismatch: the writers use one fingerprint, so never. */
  long mismatched() {
    return mismatched.get();
  }

  long processed() {
    return processed.get();
  }

  long duplicates() {
    return duplicates.get();
  }

  List<String> examples() {
    synchronized (examples) {
      return List.copyOf(examples);
    }
  }
}
