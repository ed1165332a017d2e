package dev.outboxkit.relay.cdc;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
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

  private CdcEngineConfig() {}

  /**
   * Debezium's configuration for this database, as a pure function of the relay's settings.
   *
   * @param bindingKey the key under which the engine finds its offset store and schema history
   */
  static Properties of(
      RelaySettings settings, CdcOptions options, OutboxDialect d, String bindingKey) {
    Properties p = new Properties();
    URI url = sourceUrl(options.jdbcUrl());
    OutboxTable table = settings.table();
    // On MySQL/MariaDB a table's schema is its database: a qualified table is captured there.
    String database =
        table.schema() != null
            ? table.schema()
            : url.getPath() == null ? "" : url.getPath().replaceFirst("^/", "");
    p.setProperty("name", options.name());
    p.setProperty("connector.class", connectorClass(d));
    p.setProperty("topic.prefix", options.name());
    p.setProperty("database.hostname", url.getHost());
    p.setProperty("database.user", options.username());
    p.setProperty("database.password", options.password());
    p.setProperty("tombstones.on.delete", "false");
    p.setProperty("binary.handling.mode", "bytes");
    p.setProperty("snapshot.mode", "initial");
    p.setProperty("heartbeat.interval.ms", String.valueOf(options.heartbeatInterval().toMillis()));
    p.setProperty("max.batch.size", String.valueOf(settings.batchSize()));
    p.setProperty("max.queue.size", String.valueOf(settings.batchSize() * 4));
    // The queue holds changes (payloads included) between the engine's reader and our handler.
    p.setProperty("max.queue.size.in.bytes", String.valueOf(settings.batchBytes()));
    p.setProperty("poll.interval.ms", String.valueOf(settings.minPollInterval().toMillis()));
    p.setProperty("offset.flush.interval.ms", "0");
    p.setProperty("offset.flush.timeout.ms", "10000");
    p.setProperty("errors.max.retries", "3");
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
    if (d.name().equals("postgresql")) {
      String schema = table.schema() == null ? "public" : table.schema();
      p.setProperty("database.port", String.valueOf(url.getPort() < 0 ? 5432 : url.getPort()));
      p.setProperty("database.dbname", database);
      p.setProperty("plugin.name", "pgoutput");
      p.setProperty("slot.name", options.name());
      // A slot still held by a deposed holder's session is taken from it before the engine starts
      // (CdcEngineRunner); the server frees it a moment later. Debezium's default wait between
      // attempts (10 s) would make that moment the bulk of a takeover.
      p.setProperty("slot.retry.delay.ms", "500");
      p.setProperty("publication.name", options.publication());
      p.setProperty("publication.autocreate.mode", "disabled");
      p.setProperty("table.include.list", schema + "\\." + table.name());
      snapshotInSeqOrder(p, schema + "." + table.name());
      // A logical message passes any publication filter, so the slot's position moves on while
      // only other tables change; without it the server keeps their WAL for the slot.
      p.setProperty(
          "heartbeat.action.query",
          "SELECT pg_logical_emit_message(false, '" + HEARTBEAT_PREFIX + "', now()::varchar)");
    } else {
      p.setProperty("database.port", String.valueOf(url.getPort() < 0 ? 3306 : url.getPort()));
      p.setProperty("database.server.id", String.valueOf(options.serverId()));
      p.setProperty("database.include.list", database);
      p.setProperty("table.include.list", database + "\\." + table.name());
      snapshotInSeqOrder(p, database + "." + table.name());
      p.setProperty("include.schema.changes", "false");
      // The first start's snapshot takes a short global read lock (FLUSH TABLES WITH READ LOCK,
      // table locks where that is refused) so that its binlog position and its read view (START
      // TRANSACTION WITH CONSISTENT SNAPSHOT) are taken at one instant. With "none" Debezium takes
      // neither lock nor consistent-snapshot transaction, and a transaction written to the binlog
      // before the position but not yet visible to the read view is lost: see docs/cdc.md.
      p.setProperty("snapshot.locking.mode", "minimal");
      p.setProperty("schema.history.internal", DatabaseSchemaHistory.class.getName());
      p.setProperty("schema.history.internal." + DatabaseOffsetStore.BINDING, bindingKey);
      p.setProperty("schema.history.internal.store.only.captured.tables.ddl", "true");
    }
    CdcTls.properties(options.jdbcUrl(), connectorClass(d)).forEach(p::setProperty);
    options.debeziumProperties().forEach(p::setProperty);
    return p;
  }

  /**
   * Debezium's connector for the server the CDC connection talks to (not the URL's prefix: the
   * MariaDB connector fails on MySQL 8 and the MySQL connector on MariaDB).
   *
   * @param source the dialect detected over the CDC connection
   */
  static String connectorClass(OutboxDialect source) {
    return switch (source.name()) {
      case "postgresql" -> "io.debezium.connector.postgresql.PostgresConnector";
      case "mariadb" -> "io.debezium.connector.mariadb.MariaDbConnector";
      case "mysql" -> "io.debezium.connector.mysql.MySqlConnector";
      default ->
          throw new IllegalStateException(
              "outbox.relay.mode=cdc needs PostgreSQL, MySQL or MariaDB; outbox.relay.cdc.url"
                  + " talks to "
                  + source.name());
    };
  }

  /**
   * The first start's snapshot reads the table in {@code seq} order: without it PostgreSQL returns
   * heap order, which after updates or VACUUM differs from {@code seq}, and a backlog left by the
   * polling relay would go out of order per key.
   */
  private static void snapshotInSeqOrder(Properties p, String qualified) {
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
