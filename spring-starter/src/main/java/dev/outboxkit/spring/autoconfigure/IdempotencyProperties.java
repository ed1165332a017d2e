package dev.outboxkit.spring.autoconfigure;

import dev.outboxkit.idempotency.IdempotencyDefaults;
import dev.outboxkit.outbox.OutboxTable;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * Idempotency keys, the HTTP {@code Idempotency-Key} filter and the consumer inbox, under {@code
 * outbox.idempotency.*}. Checked at start-up, naming the property.
 *
 * @param enabled Whether to configure idempotency and the inbox.
 * @param keyTable Table of idempotency keys, optionally schema-qualified.
 * @param inboxTable Table of processed message ids, optionally schema-qualified.
 * @param ttl How long a key is remembered; after that the same key runs the work again.
 * @param inboxTtl How long a processed message id is remembered; keep it longer than the topic's
 *     retention.
 * @param lockTimeout How long a duplicate waits for a concurrent first attempt before it is refused
 *     (HTTP 409).
 * @param autoCreate Whether to create the tables at start-up when missing. For development.
 * @param validateSchema Whether to check the tables at start-up and fail naming what is missing.
 * @param purge Purging of expired keys and inbox entries.
 * @param http The HTTP Idempotency-Key filter (Spring MVC).
 */
@ConfigurationProperties("outbox.idempotency")
public record IdempotencyProperties(
    @DefaultValue("true") boolean enabled,
    @DefaultValue(IdempotencyDefaults.KEY_TABLE) String keyTable,
    @DefaultValue(IdempotencyDefaults.INBOX_TABLE) String inboxTable,
    @DefaultValue("24h") Duration ttl,
    @DefaultValue("7d") Duration inboxTtl,
    @DefaultValue("5s") Duration lockTimeout,
    @DefaultValue("false") boolean autoCreate,
    @DefaultValue("true") boolean validateSchema,
    @DefaultValue Purge purge,
    @DefaultValue Http http) {

  /** Checks every value, naming the property. */
  public IdempotencyProperties {
    table("outbox.idempotency.key-table", keyTable);
    table("outbox.idempotency.inbox-table", inboxTable);
    positive("outbox.idempotency.ttl", ttl);
    positive("outbox.idempotency.inbox-ttl", inboxTtl);
    positive("outbox.idempotency.lock-timeout", lockTimeout);
  }

  /**
   * Purging of expired keys and inbox entries, in bounded batches on a background thread.
   *
   * @param enabled Whether to purge on a schedule.
   * @param interval Time between purges.
   * @param batchSize Rows deleted per statement.
   * @param maxBatches Statements per purge and table, so one purge is bounded.
   */
  public record Purge(
      @DefaultValue("true") boolean enabled,
      @DefaultValue("5m") Duration interval,
      @DefaultValue("" + IdempotencyDefaults.PURGE_BATCH_SIZE) int batchSize,
      @DefaultValue("100") int maxBatches) {

    /** Checks every value, naming the property. */
    public Purge {
      positive("outbox.idempotency.purge.interval", interval);
      if (batchSize < 1 || batchSize > 100_000) {
        throw new IllegalArgumentException(
            "outbox.idempotency.purge.batch-size must be between 1 and 100000 but was "
                + batchSize);
      }
      if (maxBatches < 1) {
        throw new IllegalArgumentException(
            "outbox.idempotency.purge.max-batches must be at least 1 but was " + maxBatches);
      }
    }
  }

  /**
   * The HTTP Idempotency-Key filter.
   *
   * @param enabled Whether to register the filter in servlet web applications.
   * @param headerName Request header that carries the key.
   * @param paths Path patterns that are idempotent without an @Idempotent annotation, e.g.
   *     /payments/**. Requests to them must carry a key.
   * @param methods HTTP methods the path patterns apply to.
   * @param clientHeader Header naming the client when no principal is authenticated; keys are
   *     scoped per client. Unset: the principal only (anonymous requests share one scope).
   * @param maxBodySize Largest request body of an idempotent request; larger ones get 413.
   * @param replayedHeaders Response headers stored and sent again on a replay.
   */
  public record Http(
      @DefaultValue("true") boolean enabled,
      @DefaultValue("Idempotency-Key") String headerName,
      @DefaultValue List<String> paths,
      @DefaultValue({"POST", "PATCH"}) Set<String> methods,
      @Nullable String clientHeader,
      @DefaultValue("1MB") DataSize maxBodySize,
      @DefaultValue({"Content-Type", "Location"}) List<String> replayedHeaders) {

    /** Checks every value, naming the property. */
    public Http {
      if (headerName.isBlank()) {
        throw new IllegalArgumentException("outbox.idempotency.http.header-name must not be blank");
      }
      if (maxBodySize.toBytes() < 1 || maxBodySize.toBytes() > 64L * 1024 * 1024) {
        throw new IllegalArgumentException(
            "outbox.idempotency.http.max-body-size must be between 1B and 64MB but was "
                + maxBodySize);
      }
    }
  }

  private static void table(String property, String name) {
    try {
      OutboxTable.of(name);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(property + ": " + e.getMessage());
    }
  }

  private static void positive(String property, Duration value) {
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(property + " must be positive but was " + value);
    }
  }
}
