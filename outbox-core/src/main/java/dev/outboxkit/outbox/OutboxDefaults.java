package dev.outboxkit.outbox;

/**
 * The defaults of every outbox option, in one place. The Spring Boot properties take their defaults
 * from here too.
 */
public final class OutboxDefaults {

  /** The outbox table: {@value}. */
  public static final String TABLE_NAME = "outbox_event";

  /**
   * Partitions of the outbox: {@value}. An event's partition is a hash of its aggregate id, fixed
   * when the event is written; relay instances divide the partitions between them. Writers and
   * relays must use the same number, and changing it needs an empty outbox (see docs/schema.md,
   * section Partitions).
   */
  public static final int PARTITIONS = 16;

  /** The largest number of partitions: {@value}. */
  public static final int MAX_PARTITIONS = 4096;

  /** Rows per multi-row {@code INSERT} in {@link Outbox#appendAll}: {@value}. */
  public static final int INSERT_BATCH_SIZE = 1000;

  /**
   * Payload and header bytes per multi-row {@code INSERT}: {@value} (4 MiB), so one statement stays
   * well under MySQL's and MariaDB's {@code max_allowed_packet} (16 MiB or more by default).
   */
  public static final int INSERT_BATCH_BYTES = 4 * 1024 * 1024;

  /**
   * The largest serialized payload: {@value} bytes. Kafka's default {@code max.request.size} is 1
   * MiB for the whole record, headers included, so the default leaves room for them.
   */
  public static final int MAX_PAYLOAD_BYTES = 1_000_000;

  /** The largest total size of an event's headers, as stored (JSON in UTF-8): {@value} bytes. */
  public static final int MAX_HEADERS_BYTES = 16 * 1024;

  /** The largest headers limit that may be configured: {@value} bytes (a MySQL {@code TEXT}). */
  public static final int MAX_HEADERS_BYTES_LIMIT = 65_535;

  /** The longest aggregate id, event type or tenant: {@value} characters (the column width). */
  public static final int MAX_FIELD_LENGTH = 255;

  /**
   * The longest aggregate type: {@value} characters, so that a topic prefix still fits Kafka's
   * 249-character topic names.
   */
  public static final int MAX_AGGREGATE_TYPE_LENGTH = 200;

  private OutboxDefaults() {}
}
