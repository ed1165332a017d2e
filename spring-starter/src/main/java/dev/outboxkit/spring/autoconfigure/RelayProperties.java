package dev.outboxkit.spring.autoconfigure;

import static dev.outboxkit.outbox.internal.Checks.atLeast;
import static dev.outboxkit.outbox.internal.Checks.between;

import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.spi.TopicRouter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * The relay, under {@code outbox.relay.*}: when enabled, the application publishes its own outbox
 * to Kafka. Defaults come from {@link RelayDefaults}; bad values stop the application with a
 * message naming the property.
 *
 * @param enabled Whether to run the relay inside this application.
 * @param mode How the relay reads the outbox: polling (the table, partition leases between
 *     instances) or cdc (the database's change log through Debezium, one active instance).
 * @param autoCreate Whether to create the relay's lease tables (and on PostgreSQL the NOTIFY
 *     trigger) at start-up when missing. For development; in production apply the shipped scripts.
 * @param instanceId This instance's id in the lease tables. Default: host name, process id and a
 *     random suffix.
 * @param kafka The Kafka cluster and producer settings.
 * @param polling How the relay reads the outbox.
 * @param leases How instances share the outbox partitions.
 * @param topics Where events are published.
 * @param retry Retries of failed events before they are parked.
 * @param sendTimeout How long the producer may take to get a record acknowledged, retries included.
 *     Must be shorter than leases.ttl minus two heartbeats (fencing). Default: 15s, or leases.ttl
 *     minus three heartbeats when that is less (at least 1s).
 * @param shutdownTimeout How long stopping waits for the batch in flight.
 * @param keepPublishedFor Keep published events (status PUBLISHED) this long before deleting them;
 *     unset deletes them as soon as the broker acknowledged them.
 * @param health When the relay's health indicator reports DOWN.
 * @param cdc Change data capture settings, for mode=cdc.
 * @param sessionConnection Direct connections for what needs a database session of its own (the
 *     session lock for fast takeover, PostgreSQL LISTEN), when the application's DataSource goes
 *     through a transaction pooler.
 */
@ConfigurationProperties("outbox.relay")
public record RelayProperties(
    @DefaultValue("false") boolean enabled,
    @DefaultValue("polling") Mode mode,
    @DefaultValue("false") boolean autoCreate,
    @Nullable String instanceId,
    @DefaultValue Kafka kafka,
    @DefaultValue Polling polling,
    @DefaultValue Leases leases,
    @DefaultValue Topics topics,
    @DefaultValue Retry retry,
    @Nullable Duration sendTimeout,
    @DefaultValue("30s") Duration shutdownTimeout,
    @Nullable Duration keepPublishedFor,
    @DefaultValue Health health,
    @DefaultValue Cdc cdc,
    @DefaultValue SessionConnection sessionConnection) {

  /** How the relay reads the outbox. */
  public enum Mode {
    /** Reads the table: any number of instances share its partitions. */
    POLLING,
    /** Reads the database's change log with Debezium's embedded engine: one active instance. */
    CDC
  }

  /**
   * Change data capture (mode=cdc).
   *
   * @param name The engine's name: the PostgreSQL replication slot and the key of its lease and
   *     offsets. One active instance per name; the others stand by.
   * @param url JDBC URL Debezium connects with. Default: spring.datasource.url.
   * @param username The replication user Debezium logs in as (role outboxkit_cdc): REPLICATION
   *     (PostgreSQL) or REPLICATION SLAVE, REPLICATION CLIENT and RELOAD (MySQL/MariaDB), and
   *     SELECT on the outbox. The relay's own statements (lease, offsets, parking, deleting
   *     published rows, replay, purge) run on spring.datasource, whose user holds
   *     outboxkit_cdc_relay. Set together with the password. Default: spring.datasource.username.
   * @param password The replication user's password. Set together with the username. Default:
   *     spring.datasource.password.
   * @param publication The PostgreSQL publication, limited to the outbox table.
   * @param autoCreate Whether to create the publication and the CDC state table when missing.
   * @param serverId MySQL/MariaDB replica server id, unique among the server's replicas.
   * @param heartbeatInterval How often the engine records its position while the outbox is idle
   *     (keeps the slot from retaining WAL written for other tables).
   * @param offsetsTopic Store offsets in this Kafka topic instead of the CDC state table.
   * @param deletePublished Delete each row once the broker acknowledged its event. Turn off when
   *     writers delete in their own transaction.
   * @param debezium Further Debezium engine properties, applied last.
   */
  public record Cdc(
      @DefaultValue(RelayDefaults.CDC_NAME) String name,
      @Nullable String url,
      @Nullable String username,
      @Nullable String password,
      @DefaultValue(RelayDefaults.CDC_PUBLICATION) String publication,
      @DefaultValue("false") boolean autoCreate,
      @DefaultValue("" + RelayDefaults.CDC_SERVER_ID) long serverId,
      @DefaultValue("10s") Duration heartbeatInterval,
      @Nullable String offsetsTopic,
      @DefaultValue("true") boolean deletePublished,
      @Nullable Map<String, String> debezium) {

    /** The CDC properties with the password and secret Debezium properties masked. */
    @Override
    public String toString() {
      return "Cdc[name="
          + name
          + ", url="
          + dev.outboxkit.relay.internal.Secrets.maskedUrl(url)
          + ", username="
          + username
          + ", password="
          + (password == null ? null : dev.outboxkit.relay.internal.Secrets.MASK)
          + ", publication="
          + publication
          + ", autoCreate="
          + autoCreate
          + ", serverId="
          + serverId
          + ", heartbeatInterval="
          + heartbeatInterval
          + ", offsetsTopic="
          + offsetsTopic
          + ", deletePublished="
          + deletePublished
          + ", debezium="
          + dev.outboxkit.relay.internal.Secrets.masked(debezium)
          + "]";
    }

    public Cdc {
      atLeast("outbox.relay.cdc.heartbeat-interval", heartbeatInterval, Duration.ofMillis(100));
      if (!name.matches("[a-z0-9_]{1,63}")) {
        throw new IllegalArgumentException(
            "outbox.relay.cdc.name must be 1 to 63 lower-case letters, digits or '_' but was '"
                + name
                + "'");
      }
      if (!publication.matches("[a-z0-9_]{1,63}")) {
        throw new IllegalArgumentException(
            "outbox.relay.cdc.publication must be 1 to 63 lower-case letters, digits or '_' but"
                + " was '"
                + publication
                + "'");
      }
    }
  }

  /** Checks the values that are not part of a group. */
  public RelayProperties {
    if (sendTimeout != null) {
      atLeast("outbox.relay.send-timeout", sendTimeout, Duration.ofSeconds(1));
    }
    if (sendTimeout != null
        && leases != null
        && leases.ttl().compareTo(sendTimeout.plus(leases.heartbeatInterval().multipliedBy(2)))
            <= 0) {
      throw new IllegalArgumentException(
          "outbox.relay.leases.ttl ("
              + leases.ttl()
              + ") must be longer than outbox.relay.send-timeout ("
              + sendTimeout
              + ") plus two outbox.relay.leases.heartbeat-interval ("
              + leases.heartbeatInterval().multipliedBy(2)
              + "): a relay must never be sending while its lease can be claimed by another."
              + " Raise the ttl or lower the send timeout.");
    }
    atLeast("outbox.relay.shutdown-timeout", shutdownTimeout, Duration.ZERO);
    if (keepPublishedFor != null) {
      atLeast("outbox.relay.keep-published-for", keepPublishedFor, Duration.ZERO);
    }
  }

  /**
   * The Kafka cluster.
   *
   * @param bootstrapServers The brokers to connect to. Default: spring.kafka.bootstrap-servers.
   * @param properties Further Kafka producer properties, e.g. security.protocol, compression.type.
   *     enable.idempotence and acks are always true and all.
   * @param transactionalIdPrefix Turns on transactional fencing: each outbox partition is published
   *     by a producer with the transactional id prefix-partition, one Kafka transaction per batch,
   *     so a deposed relay's late records are aborted and read_committed consumers never see them.
   *     The same for every relay of one outbox table, unique in the Kafka cluster. Default: off.
   */
  public record Kafka(
      @Nullable List<String> bootstrapServers,
      @Nullable Map<String, String> properties,
      @Nullable String transactionalIdPrefix) {

    public Kafka {
      if (transactionalIdPrefix != null
          && !transactionalIdPrefix.matches("[A-Za-z0-9._-]{1,200}")) {
        throw new IllegalArgumentException(
            "outbox.relay.kafka.transactional-id-prefix must be 1 to 200 letters, digits and"
                + " . _ - (was '"
                + transactionalIdPrefix
                + "')");
      }
    }

    public Map<String, String> producerProperties() {
      return properties == null ? Map.of() : properties;
    }

    /** The Kafka properties with secret ones (SASL JAAS, passwords) masked. */
    @Override
    public String toString() {
      return "Kafka[bootstrapServers="
          + bootstrapServers
          + ", properties="
          + dev.outboxkit.relay.internal.Secrets.masked(properties)
          + ", transactionalIdPrefix="
          + transactionalIdPrefix
          + "]";
    }
  }

  /**
   * How the relay reads the outbox.
   *
   * @param batchSize Maximum number of events read, sent and marked per batch.
   * @param batchBytes Maximum bytes of events (payloads and headers) a publishing thread holds at
   *     once, the batch in flight and the one read ahead together; a read stops at it in seq order
   *     (its first row always comes). With CDC, Debezium's max.queue.size.in.bytes.
   * @param publishThreads Publishing threads of this instance, each with a share of its partitions
   *     and its own producer. More overlap reading, sending and deleting; the crash duplicate bound
   *     becomes one batch per thread.
   * @param minInterval First wait after an empty poll; it doubles while polls stay empty.
   * @param maxInterval Longest wait between polls of an idle outbox.
   * @param listenNotify Whether to wake up on PostgreSQL NOTIFY from the outbox trigger.
   * @param metricsInterval How often outbox.backlog and outbox.lag are measured.
   */
  public record Polling(
      @DefaultValue("" + RelayDefaults.BATCH_SIZE) int batchSize,
      @DefaultValue("64MB") DataSize batchBytes,
      @DefaultValue("" + RelayDefaults.PUBLISH_THREADS) int publishThreads,
      @DefaultValue("10ms") Duration minInterval,
      @DefaultValue("1s") Duration maxInterval,
      @DefaultValue("true") boolean listenNotify,
      @DefaultValue("5s") Duration metricsInterval) {

    public Polling {
      between("outbox.relay.polling.batch-size", batchSize, 1, 10_000);
      if (batchBytes.toBytes() < 1024 || batchBytes.toBytes() > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            "outbox.relay.polling.batch-bytes must be between 1KB and 2GB but was " + batchBytes);
      }
      between("outbox.relay.polling.publish-threads", publishThreads, 1, 16);
      atLeast("outbox.relay.polling.min-interval", minInterval, Duration.ofMillis(1));
      atLeast("outbox.relay.polling.max-interval", maxInterval, minInterval);
      atLeast("outbox.relay.polling.metrics-interval", metricsInterval, Duration.ofMillis(10));
    }
  }

  /**
   * Direct connections for the relay's session: its session lock (fast takeover after a crash) and
   * on PostgreSQL its LISTEN. Set the url when spring.datasource goes through a transaction pooler
   * (PgBouncer in transaction mode, RDS Proxy): there neither stays with the relay's session, and
   * without this the relay turns session locks off once it notices and takeover waits for
   * leases.ttl. The relay opens at most two such connections, each for as long as it runs.
   *
   * @param url JDBC URL of the same database, bypassing the pooler. Unset: the application's
   *     DataSource.
   * @param username Its user. Default: spring.datasource.username.
   * @param password Its password. Default: spring.datasource.password.
   */
  public record SessionConnection(
      @Nullable String url, @Nullable String username, @Nullable String password) {

    /** No secrets in logs: the password is left out and credentials in the URL are masked. */
    @Override
    public String toString() {
      return "SessionConnection[url="
          + dev.outboxkit.relay.internal.Secrets.maskedUrl(url)
          + ", username="
          + username
          + "]";
    }
  }

  /**
   * How instances share the outbox partitions.
   *
   * @param ttl How long a lease lasts without renewal. Without session locks, a crashed instance's
   *     partitions move after at most this plus one heartbeat.
   * @param heartbeatInterval How often an instance renews its leases and rebalances; at most a
   *     third of the ttl. With session locks, a crashed instance's partitions move 1.5 to 2.5
   *     heartbeats after its last one.
   * @param sessionLocks Whether each instance holds a session-scoped database lock (PostgreSQL
   *     advisory lock, MySQL/MariaDB GET_LOCK) on a connection of its own, so that a crashed
   *     instance is replaced within seconds instead of after the ttl. Behind a transaction pooler
   *     (PgBouncer in transaction mode, RDS Proxy) set session-connection.url, or turn this off.
   */
  public record Leases(
      @DefaultValue("30s") Duration ttl,
      @DefaultValue("500ms") Duration heartbeatInterval,
      @DefaultValue("true") boolean sessionLocks) {

    public Leases {
      atLeast("outbox.relay.leases.heartbeat-interval", heartbeatInterval, Duration.ofMillis(10));
      if (ttl.compareTo(heartbeatInterval.multipliedBy(3)) < 0) {
        throw new IllegalArgumentException(
            "outbox.relay.leases.ttl must be at least three heartbeat intervals ("
                + heartbeatInterval.multipliedBy(3)
                + ") but was "
                + ttl);
      }
    }
  }

  /**
   * Where events are published.
   *
   * @param prefix Prefix of the topic name; the rest is the aggregate type.
   * @param mapping Explicit topic per aggregate type, overriding the prefix rule.
   * @param deadLetter Topic that receives a copy of every parked event. Unset: none.
   * @param verify Whether to check that a topic exists before the first send to it; turn off when
   *     brokers create topics automatically.
   */
  public record Topics(
      @DefaultValue("") String prefix,
      @Nullable Map<String, String> mapping,
      @Nullable String deadLetter,
      @DefaultValue("true") boolean verify) {

    public Topics {
      try {
        TopicRouter.prefixed(prefix);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("outbox.relay.topics.prefix: " + e.getMessage());
      }
    }

    /** The router these settings describe. */
    public TopicRouter router() {
      TopicRouter prefixed = TopicRouter.prefixed(prefix);
      return mapping == null || mapping.isEmpty()
          ? prefixed
          : TopicRouter.mapping(mapping, prefixed);
    }
  }

  /**
   * Retries of failed events.
   *
   * @param maxAttempts Attempts before an event is parked (status DEAD).
   * @param initialInterval Wait before the first retry.
   * @param multiplier Factor by which the wait grows with each attempt.
   * @param maxInterval Longest wait between two attempts.
   */
  public record Retry(
      @DefaultValue("" + RelayDefaults.MAX_ATTEMPTS) int maxAttempts,
      @DefaultValue("1s") Duration initialInterval,
      @DefaultValue("" + RelayDefaults.RETRY_MULTIPLIER) double multiplier,
      @DefaultValue("5m") Duration maxInterval) {

    public Retry {
      between("outbox.relay.retry.max-attempts", maxAttempts, 1, 1_000_000);
      atLeast("outbox.relay.retry.initial-interval", initialInterval, Duration.ofMillis(1));
      if (!(multiplier >= 1.0)) {
        throw new IllegalArgumentException(
            "outbox.relay.retry.multiplier must be at least 1.0 but was " + multiplier);
      }
      atLeast("outbox.relay.retry.max-interval", maxInterval, initialInterval);
    }
  }

  /**
   * When the relay's health indicator reports DOWN.
   *
   * @param maxLag Age of the oldest pending event beyond which the relay is DOWN.
   * @param maxConsecutiveFailures Batches in a row with send failures beyond which it is DOWN.
   * @param stallTimeout How long work may wait (pending events, a change stream to read, or
   *     measurements that keep failing) while nothing is published, parked or acknowledged before
   *     the relay is DOWN as stalled. Must be longer than two polling.metrics-interval and, in CDC
   *     mode, three cdc.heartbeat-interval.
   */
  public record Health(
      @DefaultValue("5m") Duration maxLag,
      @DefaultValue("10") int maxConsecutiveFailures,
      @DefaultValue("5m") Duration stallTimeout) {

    public Health {
      atLeast("outbox.relay.health.max-lag", maxLag, Duration.ofSeconds(1));
      between("outbox.relay.health.max-consecutive-failures", maxConsecutiveFailures, 1, 1_000_000);
      atLeast("outbox.relay.health.stall-timeout", stallTimeout, Duration.ofSeconds(1));
    }
  }
}
