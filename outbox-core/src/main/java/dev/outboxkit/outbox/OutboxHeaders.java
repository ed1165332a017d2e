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

  /** The reserved prefix. */
  public static final String RESERVED_PREFIX = "outbox-";

  private OutboxHeaders() {}
}
