package dev.outboxkit.spring.autoconfigure;

import static dev.outboxkit.outbox.OptionChecks.atLeast;
import static dev.outboxkit.outbox.OptionChecks.between;

import dev.outboxkit.relay.RelayConfig;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.SecretMasking;
import dev.outboxkit.relay.cdc.CdcOptions;
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
 * to Kafka. The relay's options bind to {@link RelayConfig}, which holds their defaults ({@link
 * RelayDefaults}) and checks: a property left unset here takes the configuration's default, and a
 * bad value stops the application with the configuration's message naming the property. Options of
 * the other mode (outbox.relay.cdc.* in polling mode, polling.publish-threads and
 * polling.listen-notify in cdc mode) are refused, not ignored. What only the starter has (enabled,
 * auto-create, the health indicator's limits, topics, session connections) is checked here.
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
 * @param shutdownTimeout How long stopping waits for the batch in flight. Default: 30s.
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
    @Nullable Duration shutdownTimeout,
    @Nullable Duration keepPublishedFor,
    @DefaultValue Health health,
    @DefaultValue Cdc cdc,
    @DefaultValue SessionConnection sessionConnection) {

  /**
   * Binds this relay's options to the relay's configuration type, which checks them.
   *
   * @param bootstrapServers the Kafka cluster, or {@code null} when it is not known yet
   * @param cdcOptions the change-log source in mode=cdc, or {@code null} to check the rest only
   * @return the configuration
   * @throws IllegalArgumentException naming the property of a bad value
   */
  public RelayConfig toConfig(@Nullable String bootstrapServers, @Nullable CdcOptions cdcOptions) {
    return bind(
        mode,
        instanceId,
        kafka,
        polling,
        leases,
        topics,
        retry,
        sendTimeout,
        shutdownTimeout,
        keepPublishedFor,
        health,
        bootstrapServers,
        cdcOptions);
  }

  // Static because the compact constructor checks the values before the fields are assigned.
  private static RelayConfig bind(
      Mode mode,
      @Nullable String instanceId,
      Kafka kafka,
      Polling polling,
      Leases leases,
      Topics topics,
      Retry retry,
      @Nullable Duration sendTimeout,
      @Nullable Duration shutdownTimeout,
      @Nullable Duration keepPublishedFor,
      Health health,
      @Nullable String bootstrapServers,
      @Nullable CdcOptions cdcOptions) {
    RelayConfig defaults = RelayConfig.ofDefaults();
    RelayConfig.Builder config = RelayConfig.custom();
    if (bootstrapServers != null) {
      config.bootstrapServers(bootstrapServers);
    }
    kafka.producerProperties().forEach(config::producerProperty);
    config.transactionalFencing(kafka.transactionalIdPrefix());
    config.sendTimeout(sendTimeout);
    config.deadLetterTopic(topics.deadLetter());
    if (topics.verify() != null) {
      config.verifyTopics(topics.verify());
    }
    if (polling.batchSize() != null) {
      config.batchSize(polling.batchSize());
    }
    if (polling.batchBytes() != null) {
      config.batchBytes(polling.batchBytes().toBytes());
    }
    config.pollInterval(
        or(polling.minInterval(), defaults.batches().minPollInterval()),
        or(polling.maxInterval(), defaults.batches().maxPollInterval()));
    if (polling.metricsInterval() != null) {
      config.metricsInterval(polling.metricsInterval());
    }
    config.leases(
        or(leases.ttl(), defaults.leases().ttl()),
        or(leases.heartbeatInterval(), defaults.leases().heartbeatInterval()));
    if (leases.sessionLocks() != null) {
      config.sessionLocks(leases.sessionLocks());
    }
    if (retry.maxAttempts() != null) {
      config.maxAttempts(retry.maxAttempts());
    }
    config.retryBackoff(
        or(retry.initialInterval(), defaults.retry().initialInterval()),
        or(retry.multiplier(), defaults.retry().multiplier()),
        or(retry.maxInterval(), defaults.retry().maxInterval()));
    if (shutdownTimeout != null) {
      config.shutdownTimeout(shutdownTimeout);
    }
    config.keepPublishedFor(keepPublishedFor);
    if (health.stallTimeout() != null) {
      config.stallTimeout(health.stallTimeout());
    }
    config.instanceId(instanceId);
    if (mode == Mode.CDC) {
      if (cdcOptions != null) {
        config.cdc(cdcOptions);
      }
    } else {
      RelayConfig.Polling reading = RelayConfig.Polling.ofDefaults();
      if (polling.publishThreads() != null) {
        reading = reading.withPublishThreads(polling.publishThreads());
      }
      if (polling.listenNotify() != null) {
        reading = reading.withListenNotify(polling.listenNotify());
      }
      config.polling(reading);
    }
    try {
      return config.build();
    } catch (IllegalStateException e) {
      // Options that do not fit together are bad property values here.
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  private static <T> T or(@Nullable T value, T otherwise) {
    return value != null ? value : otherwise;
  }

  /** Options of the other mode are refused: they would be silently ignored. */
  private static void checkModeOptions(Mode mode, Polling polling, Cdc cdc) {
    if (mode == Mode.CDC) {
      if (polling.publishThreads() != null) {
        throw otherMode(mode, "outbox.relay.polling.publish-threads", "polling");
      }
      if (polling.listenNotify() != null) {
        throw otherMode(mode, "outbox.relay.polling.listen-notify", "polling");
      }
      return;
    }
    String set = cdc.firstSet();
    if (set != null) {
      throw otherMode(mode, "outbox.relay.cdc." + set, "cdc");
    }
  }

  private static IllegalArgumentException otherMode(Mode mode, String property, String itsMode) {
    return new IllegalArgumentException(
        property
            + " is set but outbox.relay.mode is "
            + mode.name().toLowerCase(java.util.Locale.ROOT)
            + ": it applies only to mode="
            + itsMode
            + ". Remove it or set outbox.relay.mode="
            + itsMode
            + ".");
  }

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
   * @param serverId MySQL/MariaDB replica server id, unique among the server's replicas and binlog
   *     clients. Default: derived from the engine name (a hash into 1000000 to 4294967295), so
   *     engines with different names differ.
   * @param heartbeatInterval How often the engine records its position while the outbox is idle
   *     (keeps the slot from retaining WAL written for other tables).
   * @param offsetsTopic Store offsets in this Kafka topic instead of the CDC state table.
   * @param deletePublished Delete each row once the broker acknowledged its event. Turn off when
   *     writers delete in their own transaction.
   * @param debezium Further Debezium engine properties, applied last.
   */
  public record Cdc(
      @Nullable String name,
      @Nullable String url,
      @Nullable String username,
      @Nullable String password,
      @Nullable String publication,
      @Nullable Boolean autoCreate,
      @Nullable Long serverId,
      @Nullable Duration heartbeatInterval,
      @Nullable String offsetsTopic,
      @Nullable Boolean deletePublished,
      @Nullable Map<String, String> debezium) {

    /** The CDC properties with the password and secret Debezium properties masked. */
    @Override
    public String toString() {
      return "Cdc[name="
          + name
          + ", url="
          + SecretMasking.maskedUrl(url)
          + ", username="
          + username
          + ", password="
          + (password == null ? null : SecretMasking.MASK)
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
          + SecretMasking.masked(debezium)
          + "]";
    }

    /** The kebab-case name of the first property that is set, or {@code null} when none is. */
    @Nullable String firstSet() {
      Object[] values = {
        name,
        url,
        username,
        password,
        publication,
        autoCreate,
        serverId,
        heartbeatInterval,
        offsetsTopic,
        deletePublished,
        debezium
      };
      String[] names = {
        "name",
        "url",
        "username",
        "password",
        "publication",
        "auto-create",
        "server-id",
        "heartbeat-interval",
        "offsets-topic",
        "delete-published",
        "debezium"
      };
      for (int i = 0; i < values.length; i++) {
        if (values[i] != null) {
          return names[i];
        }
      }
      return null;
    }
  }

  /**
   * Checks every value through {@link RelayConfig} (the Kafka cluster and the change-log source
   * come from the environment later and are checked when the relay is built).
   */
  public RelayProperties {
    checkModeOptions(mode, polling, cdc);
    bind(
        mode,
        instanceId,
        kafka,
        polling,
        leases,
        topics,
        retry,
        sendTimeout,
        shutdownTimeout,
        keepPublishedFor,
        health,
        null,
        null);
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

    public Map<String, String> producerProperties() {
      return properties == null ? Map.of() : properties;
    }

    /** The Kafka properties with secret ones (SASL JAAS, passwords) masked. */
    @Override
    public String toString() {
      return "Kafka[bootstrapServers="
          + bootstrapServers
          + ", properties="
          + SecretMasking.masked(properties)
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
   *     becomes one batch per thread. Unset or 1 (without transactional fencing): adapts to the
   *     backlog, 1 to min(4, partitions) threads reading; any other value is fixed.
   * @param minInterval First wait after an empty poll; it doubles while polls stay empty.
   * @param maxInterval Longest wait between polls of an idle outbox.
   * @param listenNotify Whether to wake up on PostgreSQL NOTIFY from the outbox trigger.
   * @param metricsInterval How often outbox.backlog and outbox.lag are measured.
   */
  public record Polling(
      @Nullable Integer batchSize,
      @Nullable DataSize batchBytes,
      @Nullable Integer publishThreads,
      @Nullable Duration minInterval,
      @Nullable Duration maxInterval,
      @Nullable Boolean listenNotify,
      @Nullable Duration metricsInterval) {}

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
          + SecretMasking.maskedUrl(url)
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
      @Nullable Duration ttl,
      @Nullable Duration heartbeatInterval,
      @Nullable Boolean sessionLocks) {}

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
      @Nullable Boolean verify) {

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
      @Nullable Integer maxAttempts,
      @Nullable Duration initialInterval,
      @Nullable Double multiplier,
      @Nullable Duration maxInterval) {}

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
      @Nullable Duration stallTimeout) {

    /** The indicator's own limits; the stall timeout is the relay's, checked by RelayConfig. */
    public Health {
      atLeast("outbox.relay.health.max-lag", maxLag, Duration.ofSeconds(1));
      between("outbox.relay.health.max-consecutive-failures", maxConsecutiveFailures, 1, 1_000_000);
    }
  }
}
