package dev.outboxkit.spring.autoconfigure;

import static dev.outboxkit.outbox.OptionChecks.between;

import dev.outboxkit.outbox.OutboxDefaults;
import dev.outboxkit.outbox.OutboxTable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * OutboxKit configuration, under {@code outbox.*}. Checked at start-up: a bad value stops the
 * application with a message naming the property.
 *
 * @param enabled Whether to configure the outbox at all.
 * @param store Where and how events are stored.
 * @param events Limits on each event.
 */
@ConfigurationProperties("outbox")
public record OutboxProperties(
    @DefaultValue("true") boolean enabled, @DefaultValue Store store, @DefaultValue Events events) {

  /** The databases OutboxKit speaks. */
  public enum DialectName {
    /** Detect from the DataSource's metadata at start-up. */
    AUTO,
    POSTGRESQL,
    MYSQL,
    MARIADB,
    H2
  }

  /**
   * Where and how events are stored.
   *
   * @param tableName Name of the outbox table, optionally schema-qualified (schema.table). Letters,
   *     digits and underscores only.
   * @param dialect SQL dialect of the database. 'auto' detects it from the DataSource at start-up.
   * @param partitions Number of outbox partitions. An event's partition is a hash of its aggregate
   *     id fixed at write time, so writers and relays must agree; changing it needs an empty
   *     outbox.
   * @param autoCreate Whether to create the table and indexes at start-up when missing. For
   *     development; in production apply the shipped Flyway or Liquibase scripts.
   * @param validateSchema Whether to check at start-up that the table exists with every column, and
   *     fail naming what is missing.
   * @param insertBatchSize Maximum number of rows per multi-row insert when appending many events.
   * @param insertBatchBytes Maximum payload and header bytes per multi-row insert.
   * @param deferAppends Whether events appended one by one in a Spring transaction are held and
   *     inserted together just before it commits (one round trip per transaction instead of one per
   *     event). Invalid events still fail at append; a database error on the insert surfaces from
   *     the commit, which rolls the transaction back. Set false to insert each event at its append.
   */
  public record Store(
      @DefaultValue(OutboxDefaults.TABLE_NAME) String tableName,
      @DefaultValue("auto") DialectName dialect,
      @DefaultValue("" + OutboxDefaults.PARTITIONS) int partitions,
      @DefaultValue("false") boolean autoCreate,
      @DefaultValue("true") boolean validateSchema,
      @DefaultValue("" + OutboxDefaults.INSERT_BATCH_SIZE) int insertBatchSize,
      @DefaultValue("" + OutboxDefaults.INSERT_BATCH_BYTES + "B") DataSize insertBatchBytes,
      @DefaultValue("true") boolean deferAppends) {

    /** Checks every value, naming the property in the message. */
    public Store {
      try {
        OutboxTable.of(tableName);
      } catch (IllegalArgumentException e) {
        // Not chained: the message already says it all, and it should be the root cause shown.
        throw new IllegalArgumentException("outbox.store.table-name: " + e.getMessage());
      }
      between("outbox.store.partitions", partitions, 1, OutboxDefaults.MAX_PARTITIONS);
      between("outbox.store.insert-batch-size", insertBatchSize, 1, 65_535);
      between("outbox.store.insert-batch-bytes", insertBatchBytes.toBytes(), 1, Integer.MAX_VALUE);
    }

    /** The table as a validated name. */
    public OutboxTable table() {
      return OutboxTable.of(tableName);
    }
  }

  /**
   * Limits on each event, checked before anything is written.
   *
   * @param maxPayloadSize Maximum size of a serialized payload. Keep it below the Kafka producer's
   *     max.request.size (1 MiB by default) minus the headers.
   * @param maxHeadersSize Maximum total size of an event's headers.
   */
  public record Events(
      @DefaultValue("" + OutboxDefaults.MAX_PAYLOAD_BYTES + "B") DataSize maxPayloadSize,
      @DefaultValue("" + OutboxDefaults.MAX_HEADERS_BYTES + "B") DataSize maxHeadersSize) {

    /** Checks every value, naming the property in the message. */
    public Events {
      between("outbox.events.max-payload-size", maxPayloadSize.toBytes(), 1, Integer.MAX_VALUE);
      between(
          "outbox.events.max-headers-size",
          maxHeadersSize.toBytes(),
          1,
          OutboxDefaults.MAX_HEADERS_BYTES_LIMIT);
    }
  }
}
