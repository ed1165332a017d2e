package dev.outboxkit.outbox;

/**
 * The Kafka headers OutboxKit sets on every published record, next to the application's own. Names
 * with the {@code outbox-} prefix are reserved: applications cannot set them.
 */
public final class OutboxHeaders {

  /** The event id (UUIDv7 text): what consumers deduplicate on. */
  public static final String EVENT_ID = "outbox-event-id";

  /** The event type. */
  public static final String EVENT_TYPE = "outbox-event-type";

  /** The aggregate type. */
  public static final String AGGREGATE_TYPE = "outbox-aggregate-type";

  /** The tenant id, set only on events that have one. */
  public static final String TENANT = "outbox-tenant";

  /** On dead-letter copies: why the event was parked. */
  public static final String ERROR = "outbox-error";

  /** On dead-letter copies: the topic the event was meant for. */
  public static final String ORIGINAL_TOPIC = "outbox-original-topic";

  /**
   * Set by a {@link dev.outboxkit.outbox.spi.PayloadCodec} that encrypts: the encoding of the
   * payload, e.g. {@code tink-aead-v1}. A consumer that finds it must decode the value first.
   */
  public static final String PAYLOAD_ENCODING = "outbox-payload-encoding";

  /**
   * Set with {@link #PAYLOAD_ENCODING}: the id of the key that encrypted the payload (not secret).
   */
  public static final String KEY_ID = "outbox-key-id";

  /**
   * On a replayed event: when it was first appended (ISO-8601, e.g. {@code
   * 2026-12-03T08:15:30.123456Z}). A replay makes the event pending again as of the replay, so its
   * lag, delivery latency and Kafka timestamp count from then; this header keeps the original time
   * for consumers and audits. A second replay keeps the first value.
   *
   * @since 0.9
   */
  public static final String APPENDED_AT = "outbox-appended-at";

  /** The reserved prefix. */
  public static final String RESERVED_PREFIX = "outbox-";

  private OutboxHeaders() {}
}
