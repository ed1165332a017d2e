package dev.outboxkit.relay;

import java.time.Duration;

/**
 * The defaults of every relay option, in one place. The Spring Boot properties take their defaults
 * from here too.
 */
public final class RelayDefaults {

  /**
   * Events read, sent and marked per batch: {@value}. With this default the polling relay adapts to
   * a backlog: while reads come back full it doubles the batch up to {@link
   * #ADAPTIVE_MAX_BATCH_SIZE}, and returns to this size after a read that is not full. Any other
   * value is a fixed batch size.
   */
  public static final int BATCH_SIZE = 500;

  /**
   * The largest batch the polling relay grows to under a backlog with the default {@link
   * #BATCH_SIZE}: {@value}. It bounds the duplicates a crash can cause (one batch per publishing
   * thread) and keeps a read's rows within PostgreSQL's default {@code work_mem} for 1 KiB events.
   */
  public static final int ADAPTIVE_MAX_BATCH_SIZE = 2000;

  /**
   * The largest batch the polling relay reads with {@code batchSize} set: {@link
   * #ADAPTIVE_MAX_BATCH_SIZE} for the default, the size itself otherwise.
   */
  public static int maxBatchSize(int batchSize) {
    return batchSize == BATCH_SIZE ? Math.max(batchSize, ADAPTIVE_MAX_BATCH_SIZE) : batchSize;
  }

  /**
   * The most bytes (payloads and headers, as stored) of events a publishing thread holds at once,
   * the batch in flight and the one read ahead together: 64 MiB. A read stops adding rows once it
   * is reached; its first row always fits. CDC gives it to Debezium as {@code
   * max.queue.size.in.bytes}.
   */
  public static final long BATCH_BYTES = 64L * 1024 * 1024;

  /**
   * Publishing threads per relay instance: {@value}. Each owns a share of the instance's partitions
   * and its own producer. With this default (and without transactional fencing) the polling relay
   * adapts to a backlog: it starts {@link #maxPublishThreads} threads, of which one reads at first;
   * while reads come back full another one takes a share of the partitions, and after a while
   * without a full read one gives its share back. Any other value is a fixed number of threads.
   */
  public static final int PUBLISH_THREADS = 1;

  /**
   * The most publishing threads the polling relay grows to under a backlog with the default {@link
   * #PUBLISH_THREADS}: {@value}, or fewer when there are fewer partitions. Each thread has one
   * batch in flight and one read ahead, so it multiplies the crash duplicate bound.
   *
   * @since 0.8
   */
  public static final int ADAPTIVE_MAX_PUBLISH_THREADS = 4;

  /**
   * The most publishing threads the polling relay runs with {@code publishThreads} set, over {@code
   * partitions} outbox partitions: {@link #ADAPTIVE_MAX_PUBLISH_THREADS} (at most one per
   * partition) for the default, the number itself otherwise.
   *
   * @since 0.8
   */
  public static int maxPublishThreads(int publishThreads, int partitions) {
    return publishThreads == PUBLISH_THREADS
        ? Math.max(1, Math.min(ADAPTIVE_MAX_PUBLISH_THREADS, partitions))
        : publishThreads;
  }

  /** The shortest wait between polls of an idle outbox. */
  public static final Duration MIN_POLL_INTERVAL = Duration.ofMillis(10);

  /**
   * The longest wait between polls of an idle outbox; the wait doubles from {@link
   * #MIN_POLL_INTERVAL} while polls find nothing. A wake-up signal (LISTEN/NOTIFY or a commit in
   * the same JVM) ends the wait at once.
   */
  public static final Duration MAX_POLL_INTERVAL = Duration.ofSeconds(1);

  /** How long a partition lease lasts without a heartbeat. */
  public static final Duration LEASE_TTL = Duration.ofSeconds(30);

  /**
   * How often an instance renews its leases and rebalances; at most a third of the lease TTL. With
   * session locks, a crashed instance's partitions are taken over 1.5 to 2.5 heartbeats after its
   * last one, so 500 ms gives a takeover within 1.25 s of it (well within 2 s of a crash); one
   * renewal costs a handful of short statements, two per second per instance.
   */
  public static final Duration HEARTBEAT_INTERVAL = Duration.ofMillis(500);

  /** How often {@code outbox.backlog} and {@code outbox.lag} are measured. */
  public static final Duration METRICS_INTERVAL = Duration.ofSeconds(5);

  /** Attempts before a failing event is parked (status {@code DEAD}): {@value}. */
  public static final int MAX_ATTEMPTS = 10;

  /** The wait before the first retry of a failed event; it grows exponentially. */
  public static final Duration RETRY_INITIAL_INTERVAL = Duration.ofSeconds(1);

  /** The factor by which the retry wait grows: {@value}. */
  public static final double RETRY_MULTIPLIER = 2.0;

  /** The longest wait between retries of one event. */
  public static final Duration RETRY_MAX_INTERVAL = Duration.ofMinutes(5);

  /**
   * How long the producer may take to get a record acknowledged, retries included ({@code
   * delivery.timeout.ms}). The lease TTL must exceed it by more than two heartbeats (fencing).
   */
  public static final Duration SEND_TIMEOUT = Duration.ofSeconds(15);

  /**
   * How long work may wait while nothing is published, parked or acknowledged before the relay's
   * status says it is stalled (health DOWN): 5 minutes. Long enough that no healthy relay reaches
   * it (a batch is bounded by the send timeout, gauges are measured every 5 s, an idle CDC stream
   * stores its position every 10 s), and as long as the default {@code outbox.relay.health.max-lag}
   * and the longest retry backoff, so a stalled relay and a lagging one turn DOWN in the same
   * window.
   */
  public static final Duration STALL_TIMEOUT = Duration.ofMinutes(5);

  /** How long {@link OutboxRelay#close()} waits for the in-flight batch. */
  public static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(30);

  /** The lease table: {@value}. */
  public static final String LEASE_TABLE = "outbox_relay_lease";

  /** The table of live relay instances: {@value}. */
  public static final String MEMBER_TABLE = "outbox_relay_member";

  /** Published rows deleted per purge statement when published events are kept: {@value}. */
  public static final int PURGE_BATCH_SIZE = 1000;

  private RelayDefaults() {}

  /** CDC: the engine's name, also its PostgreSQL replication slot. */
  public static final String CDC_NAME = "outboxkit";

  /** CDC: the PostgreSQL publication, limited to the outbox table. */
  public static final String CDC_PUBLICATION = "outboxkit_pub";

  /**
   * CDC: the lowest MySQL/MariaDB replica server id an engine derives from its name when {@code
   * cdc.server-id} is not set. Hand-numbered replicas and Debezium's examples use small ids (1, 2,
   * 100, 5400-6400); the derived ids stay above a million.
   *
   * @since 0.9
   */
  public static final long CDC_DERIVED_SERVER_ID_MIN = 1_000_000;

  /**
   * CDC: the highest derived replica server id, the largest id MySQL and MariaDB accept (2^32 - 1).
   *
   * @since 0.9
   */
  public static final long CDC_DERIVED_SERVER_ID_MAX = 4_294_967_295L;

  /** CDC: how often the engine records its position while the outbox is idle. */
  public static final Duration CDC_HEARTBEAT_INTERVAL = Duration.ofSeconds(10);

  /**
   * The audit trail of operations on parked events, in the outbox table's schema.
   *
   * @since 0.7
   */
  public static final String AUDIT_TABLE = "outbox_audit";

  /** CDC: the table of leases and offsets. */
  public static final String CDC_STATE_TABLE = "outbox_cdc_state";
}
