package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.internal.RelaySettings;
import java.net.URI;
import java.util.Properties;

/**
 * The Debezium engine's configuration for the outbox table: connector, slot/publication or binlog
 * settings, offsets and schema history in the database, heartbeats, and a snapshot in {@code seq}
 * order. A pure function of the settings, so it is tested without an engine.
 */
final class CdcEngineConfig {

  static final String HEARTBEAT_PREFIX = "outboxkit-heartbeat";

  /** Debezium's {@code poll.interval.ms}; see {@link #of}. */
  static final java.time.Duration POLL_INTERVAL = java.time.Duration.ofMillis(1);

  /** Debezium's {@code retriable.restart.connector.wait.ms}; see {@link #of}. */
  static final java.time.Duration RETRIABLE_RESTART_WAIT = java.time.Duration.ofSeconds(1);

  private CdcEngineConfig() {}

  /**
   * Debezium's configuration for this database, as a pure function of the relay's settings.
   *
   * @param bindingKey the key under which the engine finds its offset store and schema history
   */
  static Properties of(
      RelaySettings settings, CdcOptions options, OutboxDialect d, String bindingKey) {
    ChangeLogSource source = ChangeLogSource.of(d);
    Properties p = new Properties();
    URI url = sourceUrl(options.jdbcUrl());
    OutboxTable table = settings.table();
    // On MySQL/MariaDB a table's schema is its database: a qualified table is captured there.
    String database =
        table.schema() != null
            ? table.schema()
            : url.getPath() == null ? "" : url.getPath().replaceFirst("^/", "");
    p.setProperty("name", options.name());
    p.setProperty("connector.class", source.connectorClass());
    p.setProperty("topic.prefix", options.name());
    p.setProperty("database.hostname", url.getHost());
    p.setProperty("database.user", options.username());
    p.setProperty("database.password", options.password());
    p.setProperty("tombstones.on.delete", "false");
    p.setProperty("binary.handling.mode", "bytes");
    p.setProperty("snapshot.mode", "initial");
    // The relay publishes inserts only (ChangeDecoder): its own deletes of published rows and its
    // updates (retries, parking) are dropped inside the connector instead of being turned into
    // records, queued and handed over one by one, which doubled the engine's work per event.
    p.setProperty("skipped.operations", "u,d,t");
    p.setProperty("heartbeat.interval.ms", String.valueOf(options.heartbeatInterval().toMillis()));
    p.setProperty("max.batch.size", String.valueOf(settings.batchSize()));
    p.setProperty("max.queue.size", String.valueOf(settings.batchSize() * 4));
    // The queue holds changes (payloads included) between the engine's reader and our handler.
    p.setProperty("max.queue.size.in.bytes", String.valueOf(settings.batchBytes()));
    // How long the engine waits for a full batch before it hands over what it has (and, on
    // PostgreSQL, how long the reader sleeps once the replication stream is idle): every change
    // waits up to this long twice, so it is the floor of the delivery latency. Under a backlog
    // batches fill at once and it costs nothing; idle, it is a wake-up per millisecond.
    p.setProperty("poll.interval.ms", String.valueOf(POLL_INTERVAL.toMillis()));
    p.setProperty("offset.flush.interval.ms", "0");
    p.setProperty("offset.flush.timeout.ms", "10000");
    p.setProperty("errors.max.retries", "3");
    // After a retriable error (the server ended the engine's session: a killed connection, a
    // restarted or failed-over database) Debezium restarts the connector after this wait, 10 s by
    // default, which was the bulk of every such recovery in the chaos runs (10 to 13 s). A server
    // that is back at once costs one second now; one that stays away uses up the retries above
    // sooner, and the relay then starts the engine again after its own backoff.
    p.setProperty(
        "retriable.restart.connector.wait.ms", String.valueOf(RETRIABLE_RESTART_WAIT.toMillis()));
    if (options.offsetsInKafka() != null) {
      p.setProperty("offset.storage", "org.apache.kafka.connect.storage.KafkaOffsetBackingStore");
      p.setProperty("offset.storage.topic", options.offsetsInKafka());
      p.setProperty("offset.storage.partitions", "1");
      p.setProperty("offset.storage.replication.factor", "-1");
      CdcTls.kafkaSecurity(settings.producerProperties()).forEach(p::setProperty);
    } else {
      p.setProperty("offset.storage", DatabaseOffsetStore.class.getName());
    }
    p.setProperty(DatabaseOffsetStore.BINDING, bindingKey);
    // Kafka Connect's worker config wants brokers even when offsets are not in Kafka.
    p.setProperty(
        "bootstrap.servers",
        String.valueOf(settings.producerProperties().get("bootstrap.servers")));
    source.engineProperties(p, url, table, database, options);
    if (source.schemaHistoryNeeded()) {
      p.setProperty("schema.history.internal", DatabaseSchemaHistory.class.getName());
      p.setProperty("schema.history.internal." + DatabaseOffsetStore.BINDING, bindingKey);
      p.setProperty("schema.history.internal.store.only.captured.tables.ddl", "true");
    }
    CdcTls.properties(options.jdbcUrl(), source.connectorClass()).forEach(p::setProperty);
    options.debeziumProperties().forEach(p::setProperty);
    return p;
  }

  /**
   * The first start's snapshot reads the table in {@code seq} order: without it PostgreSQL returns
   * heap order, which after updates or VACUUM differs from {@code seq}, and a backlog left by the
   * polling relay would go out of order per key.
   */
  static void snapshotInSeqOrder(Properties p, String qualified) {
    p.setProperty("snapshot.select.statement.overrides", qualified);
    p.setProperty(
        "snapshot.select.statement.overrides." + qualified,
        "SELECT * FROM " + qualified + " ORDER BY seq");
  }

  /**
   * The JDBC URL as a URI with one host, or an error naming the property: CDC connects to one
   * server (the primary), so multi-host and failover URLs are refused at start-up.
   */
  static URI sourceUrl(String jdbcUrl) {
    URI url;
    try {
      url = URI.create(jdbcUrl.substring(jdbcUrl.indexOf(':') + 1));
    } catch (IllegalArgumentException e) {
      url = null;
    }
    if (url == null || url.getHost() == null || url.getHost().isBlank()) {
      throw new IllegalStateException(
          "outbox.relay.cdc.url must name exactly one database host (the primary), as"
              + " jdbc:postgresql://host:5432/db or jdbc:mariadb://host:3306/db; got a URL without"
              + " a single host (multi-host and failover URLs are not supported for CDC)");
    }
    return url;
  }
}
