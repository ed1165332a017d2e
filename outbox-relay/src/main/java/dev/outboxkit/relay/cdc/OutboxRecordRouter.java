package dev.outboxkit.relay.cdc;

import dev.outboxkit.relay.internal.cdc.ChangeDecoder;
import dev.outboxkit.relay.internal.kafka.KafkaRecords;
import dev.outboxkit.relay.spi.TopicRouter;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.header.ConnectHeaders;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.transforms.Transformation;

/**
 * A Kafka Connect transformation for running OutboxKit's CDC on a Kafka Connect cluster: after
 * Debezium's PostgreSQL or MySQL/MariaDB connector it turns each change of the outbox table into
 * exactly the record OutboxKit's relays send (topic from the aggregate type, key = aggregate id,
 * value = payload, timestamp = append time, headers {@code outbox-event-id}, {@code
 * outbox-event-type}, {@code outbox-aggregate-type}, {@code outbox-tenant}, then the user's headers
 * in order), and drops everything else (deletes, updates, heartbeats, other tables). Use it with
 * {@code key.converter=StringConverter}, {@code value.converter=ByteArrayConverter} and {@code
 * header.converter=ByteArrayConverter}; see {@code deploy/kafka-connect/}.
 *
 * <p>Debezium's own {@code EventRouter} gets close but cannot expand the JSON {@code headers}
 * column into Kafka headers, adds an {@code id} header, sends a null tenant as an empty header, and
 * on PostgreSQL cannot take the record timestamp from a {@code timestamptz} column.
 *
 * <p>Options: {@code table} (default {@code outbox_event}), {@code topic.prefix} (default empty).
 */
public final class OutboxRecordRouter implements Transformation<SourceRecord> {

  private static final ConfigDef CONFIG =
      new ConfigDef()
          .define(
              "table",
              ConfigDef.Type.STRING,
              "outbox_event",
              ConfigDef.Importance.HIGH,
              "The outbox table's name (without schema).")
          .define(
              "topic.prefix",
              ConfigDef.Type.STRING,
              "",
              ConfigDef.Importance.MEDIUM,
              "Prefix of the topic name; the rest is the aggregate type.");

  private ChangeDecoder decoder = new ChangeDecoder("outbox_event");
  private TopicRouter router = TopicRouter.prefixed("");

  @Override
  public void configure(Map<String, ?> configs) {
    Object table = configs.get("table");
    Object prefix = configs.get("topic.prefix");
    decoder = new ChangeDecoder(table == null ? "outbox_event" : table.toString());
    router = TopicRouter.prefixed(prefix == null ? "" : prefix.toString());
  }

  @Override
  public SourceRecord apply(SourceRecord record) {
    ChangeDecoder.Change change = decoder.decode(record);
    if (change == null) {
      return null;
    }
    var event = change.event().event();
    ProducerRecord<byte[], byte[]> out = KafkaRecords.toRecord(event, router.topic(event));
    ConnectHeaders headers = new ConnectHeaders();
    for (Header header : out.headers()) {
      headers.addBytes(header.key(), header.value());
    }
    return record.newRecord(
        out.topic(),
        null,
        Schema.STRING_SCHEMA,
        event.aggregateId(),
        Schema.OPTIONAL_BYTES_SCHEMA,
        event.payload(),
        out.timestamp(),
        headers);
  }

  @Override
  public ConfigDef config() {
    return CONFIG;
  }

  @Override
  public void close() {}
}
