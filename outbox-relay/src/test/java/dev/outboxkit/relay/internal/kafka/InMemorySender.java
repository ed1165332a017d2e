package dev.outboxkit.relay.internal.kafka;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.delivery.ManagedBatchSender;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;

/**
 * A sender that answers each event at once with what {@code answer} says; for the wrapper's tests.
 */
final class InMemorySender implements ManagedBatchSender {

  private final Function<PendingEvent, PublishResult> answer;

  InMemorySender(Function<PendingEvent, PublishResult> answer) {
    this.answer = answer;
  }

  static PendingEvent pending(long seq, String aggregateType, String eventType) {
    OutboxEvent event =
        new OutboxEvent(
            UUID.randomUUID(),
            aggregateType,
            "key-" + seq,
            eventType,
            "secret-payload".getBytes(java.nio.charset.StandardCharsets.UTF_8),
            Map.of("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            null,
            Instant.EPOCH,
            (int) (seq % 4));
    return new PendingEvent(seq, event, 0, null);
  }

  @Override
  public InFlight send(List<PendingEvent> batch) {
    List<PublishResult> results = new ArrayList<>(batch.size());
    for (PendingEvent pending : batch) {
      results.add(answer.apply(pending));
    }
    return new InFlight() {
      @Override
      public List<PendingEvent> batch() {
        return batch;
      }

      @Override
      public List<PublishResult> await() {
        return results;
      }
    };
  }

  @Override
  public boolean sendDeadLetter(PendingEvent event, String topic, String error) {
    return true;
  }

  @Override
  public void start() {}

  @Override
  public void close(Duration timeout) {}
}
