package dev.outboxkit.benchmarks;

import java.util.Map;
import org.apache.kafka.clients.producer.ProducerInterceptor;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * A producer interceptor for latency passes ({@code interceptor.classes}): when the relay hands a
 * record to the producer ({@code onSend}, on the publishing thread) and when the broker
 * acknowledged it ({@code onAcknowledgement}, on the producer's I/O thread), into {@link
 * LatencyStages#current}. Kafka's public API, so the relay's code is measured as it ships.
 */
public final class StageInterceptor implements ProducerInterceptor<byte[], byte[]> {

  @Override
  public ProducerRecord<byte[], byte[]> onSend(ProducerRecord<byte[], byte[]> record) {
    LatencyStages stages = LatencyStages.current;
    if (stages != null && stages.topic().equals(record.topic())) {
      stages.sent(record.value(), System.nanoTime());
    }
    return record;
  }

  @Override
  public void onAcknowledgement(RecordMetadata metadata, Exception exception) {
    LatencyStages stages = LatencyStages.current;
    if (stages != null && exception == null && metadata != null) {
      stages.acked(metadata.topic(), metadata.partition(), metadata.offset(), System.nanoTime());
    }
  }

  @Override
  public void close() {}

  @Override
  public void configure(Map<String, ?> configs) {}
}
