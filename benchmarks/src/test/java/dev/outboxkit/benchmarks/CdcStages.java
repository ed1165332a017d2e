package dev.outboxkit.benchmarks;

import io.debezium.processors.spi.PostProcessor;
import java.nio.ByteBuffer;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.transforms.Transformation;

/**
 * Two stages of a CDC delivery inside Debezium's engine, for a latency pass with {@code -stages}
 * ({@link LatencyStages#current}), through Debezium's own extension points so the relay's code runs
 * as it ships: {@link Reader}, a post processor ({@code post.processors}), runs on the connector's
 * reader thread when a change has been decoded, just before it goes into the engine's queue; {@link
 * Pool}, a transformation ({@code transforms}), runs in the engine's processing pool, to which the
 * engine hands every record of a polled batch before the batch goes to the relay's handler. Both
 * read the event's number from the {@code payload} column of the row.
 */
final class CdcStages {

  private CdcStages() {}

  /** The Debezium properties that install both stages. */
  static Map<String, String> debeziumProperties() {
    return Map.of(
        "post.processors", "benchstage",
        "post.processors.benchstage.type", Reader.class.getName(),
        // The post processor's configuration must hold at least one property of its own.
        "post.processors.benchstage.stage", "reader",
        "transforms", "benchstage",
        "transforms.benchstage.type", Pool.class.getName());
  }

  private static byte[] payload(Object value) {
    if (!(value instanceof Struct envelope)) {
      return null;
    }
    Field after = envelope.schema().field("after");
    if (after == null || !(envelope.get(after) instanceof Struct row)) {
      return null;
    }
    Field payload = row.schema().field("payload");
    Object bytes = payload == null ? null : row.get(payload);
    if (bytes instanceof byte[] b) {
      return b;
    }
    if (bytes instanceof ByteBuffer buffer) {
      byte[] copy = new byte[buffer.remaining()];
      buffer.duplicate().get(copy);
      return copy;
    }
    return null;
  }

  /** On Debezium's reader thread: the change decoded, before the engine's queue. */
  public static final class Reader implements PostProcessor {

    @Override
    public void configure(Map<String, ?> properties) {}

    @Override
    public void apply(Object key, Struct value) {
      long now = System.nanoTime();
      LatencyStages stages = LatencyStages.current;
      byte[] payload = stages == null ? null : payload(value);
      if (payload != null) {
        stages.decoded(payload, now);
      }
    }

    @Override
    public void close() {}
  }

  /** In the engine's processing pool: the record passed on toward the relay's handler. */
  public static final class Pool implements Transformation<SourceRecord> {

    @Override
    public SourceRecord apply(SourceRecord record) {
      long now = System.nanoTime();
      LatencyStages stages = LatencyStages.current;
      byte[] payload = stages == null ? null : payload(record.value());
      if (payload != null) {
        stages.pooled(payload, now);
      }
      return record;
    }

    @Override
    public ConfigDef config() {
      return new ConfigDef();
    }

    @Override
    public void configure(Map<String, ?> configs) {}

    @Override
    public void close() {}
  }
}
