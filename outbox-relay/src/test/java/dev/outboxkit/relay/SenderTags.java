package dev.outboxkit.relay;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerInterceptor;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Header;

/**
 * A producer interceptor for relay processes ({@link RelayProcessMain} with {@code
 * -Doutboxkit.test.tagSenders=true}): every record gets the sending relay's instance id and the
 * time at which the relay called {@code send()}, so a test can tell which instance produced a
 * record, and when: by the wall clock, and by the monotonic clock ({@code System.nanoTime()}, on
 * Linux {@code CLOCK_MONOTONIC}, one clock for every process of the machine), which a test that
 * compares the relay's send times with its own should use: the wall clock may be stepped (a VM's
 * clock set by its host, NTP) between two readings, the monotonic one is not.
 */
public final class SenderTags implements ProducerInterceptor<byte[], byte[]> {

  /** The relay's instance id. */
  static final String SENDER = "test-sender";

  /** {@code System.currentTimeMillis()} when the relay called {@code send()}. */
  static final String SENT_AT = "test-sent-at";

  /** {@code System.nanoTime()} when the relay called {@code send()}. */
  static final String SENT_NANOS = "test-sent-nanos";

  /** The name of the thread that called {@code send()}: the relay's publishing thread. */
  static final String SENDING_THREAD = "test-sending-thread";

  /** The system property naming the instance, set by {@link RelayProcessMain}. */
  static final String INSTANCE_PROPERTY = "outboxkit.test.instance";

  private byte[] sender = new byte[0];

  @Override
  public void configure(Map<String, ?> configs) {
    sender = System.getProperty(INSTANCE_PROPERTY, "").getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public ProducerRecord<byte[], byte[]> onSend(ProducerRecord<byte[], byte[]> record) {
    record.headers().add(SENDER, sender);
    record
        .headers()
        .add(SENT_AT, Long.toString(System.currentTimeMillis()).getBytes(StandardCharsets.UTF_8));
    record
        .headers()
        .add(SENT_NANOS, Long.toString(System.nanoTime()).getBytes(StandardCharsets.UTF_8));
    record
        .headers()
        .add(SENDING_THREAD, Thread.currentThread().getName().getBytes(StandardCharsets.UTF_8));
    return record;
  }

  @Override
  public void onAcknowledgement(RecordMetadata metadata, Exception exception) {}

  @Override
  public void close() {}

  static String sender(org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> record) {
    Header h = record.headers().lastHeader(SENDER);
    return h == null ? "" : new String(h.value(), StandardCharsets.UTF_8);
  }

  /** The thread that called {@code send()}, or empty. */
  static String sendingThread(
      org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> record) {
    Header h = record.headers().lastHeader(SENDING_THREAD);
    return h == null ? "" : new String(h.value(), StandardCharsets.UTF_8);
  }

  static long sentAt(org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> record) {
    Header h = record.headers().lastHeader(SENT_AT);
    return h == null ? -1 : Long.parseLong(new String(h.value(), StandardCharsets.UTF_8));
  }

  /** The sender's {@code System.nanoTime()} at {@code send()}; comparable within one machine. */
  static long sentNanos(org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> record) {
    Header h = record.headers().lastHeader(SENT_NANOS);
    return h == null
        ? Long.MIN_VALUE
        : Long.parseLong(new String(h.value(), StandardCharsets.UTF_8));
  }
}
