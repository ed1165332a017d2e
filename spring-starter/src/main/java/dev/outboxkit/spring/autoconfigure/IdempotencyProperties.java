package dev.outboxkit.spring.autoconfigure;

import dev.outboxkit.idempotency.IdempotencyDefaults;
import dev.outboxkit.outbox.OutboxTable;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
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
   *     scoped per client. Not authentication: any caller can send any value. Unset: the principal
   *     only. Ignored when the application defines an IdempotencyScopeResolver bean.
   * @param sharedAnonymousScope Whether a keyed request without a caller (no principal, no client
   *     header) shares one scope with every other such request, so one caller can receive another's
   *     stored response. Default false: such a request is refused with 403.
   * @param maxBodySize Largest request body of an idempotent request; larger ones get 413.
   * @param maxStoredResponseSize Largest response body stored with its key. A larger response is
   *     sent normally with Idempotent-Body-Stored: false; its key and status are kept, so a retry
   *     replays the status and headers without the body.
   * @param replayedHeaders Response headers stored and sent again on a replay. Never Set-Cookie,
   *     Authorization or Proxy-Authorization.
   * @param fingerprint How requests are fingerprinted for their key.
   */
  public record Http(
      @DefaultValue("true") boolean enabled,
      @DefaultValue("Idempotency-Key") String headerName,
      @DefaultValue List<String> paths,
      @DefaultValue({"POST", "PATCH"}) Set<String> methods,
      @Nullable String clientHeader,
      @DefaultValue("false") boolean sharedAnonymousScope,
      @DefaultValue("1MB") DataSize maxBodySize,
      @DefaultValue("1MB") DataSize maxStoredResponseSize,
      @DefaultValue({"Content-Type", "Location"}) List<String> replayedHeaders,
      @DefaultValue Fingerprint fingerprint) {

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
      if (maxStoredResponseSize.toBytes() < 0
          || maxStoredResponseSize.toBytes() > 64L * 1024 * 1024) {
        throw new IllegalArgumentException(
            "outbox.idempotency.http.max-stored-response-size must be between 0B and 64MB but was "
                + maxStoredResponseSize);
      }
      for (String header : replayedHeaders) {
        // The same list as IdempotencyFilterSettings.CREDENTIAL_HEADERS, without loading the web
        // classes in applications that have none.
        if (CREDENTIAL_HEADERS.contains(header.strip().toLowerCase(Locale.ROOT))) {
          throw new IllegalArgumentException(
              "outbox.idempotency.http.replayed-headers must not contain "
                  + header
                  + ": a replay would hand one caller's session or credentials to whoever"
                  + " retries the key");
        }
      }
    }
  }

  /**
   * How requests are fingerprinted, to recognise the same request under the same key.
   *
   * @param algorithm HMAC_SHA256 (the default; needs a key) or SHA256 (plain, keyless: a card
   *     number in a body could be brute-forced from the key table, so choose it only for bodies
   *     without such secrets).
   * @param key The HMAC key, at least 32 bytes (e.g. openssl rand -base64 32). A secret: pass it
   *     from a secret store or an environment variable. Changing it alone makes retries of keys
   *     stored before the change get 422 until those keys expire; rotate with previous-keys.
   * @param previousKeys Earlier HMAC keys, newest first, still accepted when a stored fingerprint
   *     is compared (new fingerprints use key only). To rotate: make the new key the key and the
   *     old one a previous key; remove it after the key table's ttl. Secrets, like key.
   */
  public record Fingerprint(
      @DefaultValue("HMAC_SHA256") FingerprintAlgorithm algorithm,
      @Nullable String key,
      @DefaultValue List<String> previousKeys) {

    /** Checks the key's length, never showing it. */
    public Fingerprint {
      if (key != null && algorithm == FingerprintAlgorithm.SHA256) {
        throw new IllegalArgumentException(
            "outbox.idempotency.http.fingerprint.key is set but"
                + " outbox.idempotency.http.fingerprint.algorithm is sha256, which uses no key:"
                + " remove one of them");
      }
      if (key != null && key.getBytes(StandardCharsets.UTF_8).length < 32) {
        throw new IllegalArgumentException(
            "outbox.idempotency.http.fingerprint.key must have at least 32 bytes but has "
                + key.getBytes(StandardCharsets.UTF_8).length);
      }
      if (!previousKeys.isEmpty() && key == null) {
        throw new IllegalArgumentException(
            "outbox.idempotency.http.fingerprint.previous-keys is set but"
                + " outbox.idempotency.http.fingerprint.key is not: previous keys are only accepted"
                + " next to a current key");
      }
      for (int i = 0; i < previousKeys.size(); i++) {
        int bytes = previousKeys.get(i).getBytes(StandardCharsets.UTF_8).length;
        if (bytes < 32) {
          throw new IllegalArgumentException(
              "outbox.idempotency.http.fingerprint.previous-keys["
                  + i
                  + "] must have at least 32 bytes but has "
                  + bytes);
        }
      }
      previousKeys = List.copyOf(previousKeys);
    }

    @Override
    public String toString() {
      return "Fingerprint[algorithm="
          + algorithm
          + ", key="
          + (key == null ? "unset" : "******")
          + ", previousKeys="
          + previousKeys.size()
          + "]";
    }
  }

  /** Fingerprint algorithms. */
  public enum FingerprintAlgorithm {
    /** HMAC-SHA256 under {@code outbox.idempotency.http.fingerprint.key}. */
    HMAC_SHA256,
    /** Plain SHA-256, an explicit choice for bodies without secrets. */
    SHA256
  }

  private static final Set<String> CREDENTIAL_HEADERS =
      Set.of("set-cookie", "set-cookie2", "authorization", "proxy-authorization", "cookie");

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
