package dev.outboxkit.idempotency.internal;

import dev.outboxkit.idempotency.IdempotencyKey;
import dev.outboxkit.idempotency.IdempotencyKeyInFlightException;
import dev.outboxkit.idempotency.Inbox;
import dev.outboxkit.idempotency.InvalidIdempotencyKeyException;
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
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Claims the message id with an insert-if-absent in the caller's transaction, then handles; claim
 * and handler run inside one savepoint, so a handler that throws leaves neither its writes nor the
 * id.
 */
public final class DefaultInbox implements Inbox {

  private static final Logger log = LoggerFactory.getLogger(DefaultInbox.class);

  private final ConnectionProvider connections;
  private final InboxSql sql;
  private final Duration ttl;
  private final Duration lockTimeout;
  private final Clock clock;
  private final MeterRegistry registry;

  public DefaultInbox(
      ConnectionProvider connections,
      InboxSql sql,
      Duration ttl,
      Duration lockTimeout,
      Clock clock,
      MeterRegistry registry) {
    this.connections = connections;
    this.sql = sql;
    this.ttl = ttl;
    this.lockTimeout = lockTimeout;
    this.clock = clock;
    this.registry = registry;
  }

  @Override
  public boolean process(String consumer, String messageId, Runnable handler) {
    // The same rules as idempotency keys; the record validates and names the field.
    IdempotencyKey id = validated(consumer, messageId);
    try {
      return connections.withTransactionConnection(
          connection -> {
            if (connection.getAutoCommit()) {
              throw new NoActiveTransactionException(
                  "The inbox needs a transaction: the message id must commit with the handler's"
                      + " writes");
            }
            // A handler that throws is undone with its id, so a caller that commits anyway
            // keeps none of its writes and the redelivery handles the message afresh.
            return Savepoints.around(
                connection, connections, () -> claimAndHandle(connection, id, handler));
          });
    } catch (DialectSupport.TransactionLostException e) {
      throw new IdempotencyKeyInFlightException(id, e);
    } catch (SQLException e) {
      throw new OutboxStoreException("Could not record inbox message " + messageId, e);
    }
  }

  private boolean claimAndHandle(Connection connection, IdempotencyKey id, Runnable handler)
      throws SQLException {
    String consumer = id.scope();
    String messageId = id.key();
    Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
    return switch (sql.claim(connection, consumer, messageId, now, now.plus(ttl), lockTimeout)) {
      case EXISTS -> {
        log.debug("Skipping duplicate message {} for consumer {}", messageId, consumer);
        duplicates(consumer).increment();
        yield false;
      }
      case LOCKED -> throw new IdempotencyKeyInFlightException(id);
      case INSERTED -> {
        handler.run();
        yield true;
      }
    };
  }

  private static IdempotencyKey validated(String consumer, String messageId) {
    if (consumer == null || consumer.isBlank() || consumer.length() > 255) {
      throw new InvalidIdempotencyKeyException("consumer must be 1 to 255 characters");
    }
    if (messageId == null
        || messageId.isEmpty()
        || messageId.length() > 255
        || !messageId.chars().allMatch(c -> c >= 0x21 && c <= 0x7E)) {
      throw new InvalidIdempotencyKeyException(
          "messageId must be 1 to 255 visible ASCII characters but was " + excerpt(messageId));
    }
    return IdempotencyKey.of(consumer, messageId);
  }

  /**
   * The id as it may be logged: it comes from a record header anyone can write, so at most 64
   * characters, anything but visible ASCII shown as '?' (no line breaks or escapes in log lines).
   */
  private static String excerpt(@Nullable String messageId) {
    if (messageId == null) {
      return "null";
    }
    StringBuilder shown = new StringBuilder("'");
    messageId.chars().limit(64).forEach(c -> shown.append(c >= 0x20 && c <= 0x7E ? (char) c : '?'));
    shown.append(messageId.length() > 64 ? "...'" : "'");
    return shown + " (" + messageId.length() + " characters)";
  }

  private Counter duplicates(String consumer) {
    return Counter.builder("outbox.inbox.duplicates")
        .description("Messages skipped because the inbox had already processed their id")
        .tag("consumer", consumer)
        .register(registry);
  }
}
