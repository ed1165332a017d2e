package dev.outboxkit.idempotency.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.idempotency.Inbox;
import dev.outboxkit.outbox.OutboxHeaders;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * The inbox's observation, without servers: an in-memory {@link Inbox} (a set of seen ids) and a
 * handler that records what a tracing handler would see.
 */
class KafkaInboxObservationTests {

  private final Set<String> seen = new HashSet<>();
  private final Inbox memory =
      (consumer, id, handler) -> {
        if (!seen.add(consumer + "/" + id)) {
          return false;
        }
        handler.run();
        return true;
      };
  private final List<OutboxInboxContext> stopped = new CopyOnWriteArrayList<>();
  private final List<String> traceparentsAtStart = new CopyOnWriteArrayList<>();
  private final List<Boolean> inScopeDuringHandler = new CopyOnWriteArrayList<>();

  private ObservationRegistry recording() {
    ObservationRegistry registry = ObservationRegistry.create();
    registry
        .observationConfig()
        .observationHandler(
            new ObservationHandler<OutboxInboxContext>() {
              @Override
              public void onStart(OutboxInboxContext context) {
                // What a tracing handler does on start: read the parent from the carrier.
                traceparentsAtStart.add(
                    context.getGetter().get(context.getCarrier(), "traceparent"));
              }

              @Override
              public void onStop(OutboxInboxContext context) {
                stopped.add(context);
              }

              @Override
              public boolean supportsContext(Observation.Context context) {
                return context instanceof OutboxInboxContext;
              }
            });
    return registry;
  }

  private static ConsumerRecord<String, byte[]> record(String eventId, long offset) {
    ConsumerRecord<String, byte[]> record =
        new ConsumerRecord<>(
            "payments", 3, offset, "payment-7", "secret".getBytes(StandardCharsets.UTF_8));
    record.headers().add(OutboxHeaders.EVENT_ID, eventId.getBytes(StandardCharsets.UTF_8));
    record
        .headers()
        .add(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
                .getBytes(StandardCharsets.UTF_8));
    return record;
  }

  @Test
  void observesEachRecordContinuingItsTraceparentAndTagsTheOutcome() {
    ObservationRegistry registry = recording();
    KafkaInbox inbox = KafkaInbox.of(memory, "ledger").observed(registry);

    assertThat(
            inbox.process(
                record("e-1", 10),
                r -> inScopeDuringHandler.add(registry.getCurrentObservation() != null)))
        .isTrue();
    assertThat(inbox.process(record("e-1", 11), r -> {})).isFalse();

    assertThat(traceparentsAtStart)
        .containsOnly("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    assertThat(inScopeDuringHandler).containsExactly(true);
    assertThat(stopped).hasSize(2);
    assertThat(stopped)
        .extracting(c -> c.getLowCardinalityKeyValue("outbox.inbox.outcome").getValue())
        .containsExactly("handled", "duplicate");
    OutboxInboxContext first = stopped.get(0);
    assertThat(first.getName()).isEqualTo(DefaultOutboxInboxObservationConvention.NAME);
    assertThat(first.getContextualName()).isEqualTo("process payments");
    assertThat(first.getLowCardinalityKeyValue("messaging.consumer.group.name").getValue())
        .isEqualTo("ledger");
    assertThat(first.getHighCardinalityKeyValue("messaging.message.id").getValue())
        .isEqualTo("e-1");
    assertThat(first.getHighCardinalityKeyValue("messaging.kafka.offset").getValue())
        .isEqualTo("10");
    assertThat(first.getAllKeyValues())
        .noneMatch(kv -> kv.getValue().contains("secret") || kv.getValue().contains("payment-7"));
  }

  @Test
  void aFailingHandlerIsAnObservationWithItsErrorAndNoOutcome() {
    KafkaInbox inbox = KafkaInbox.of(memory, "ledger").observed(recording());

    assertThatThrownBy(
            () ->
                inbox.process(
                    record("e-2", 12),
                    r -> {
                      throw new IllegalStateException("booking refused");
                    }))
        .hasMessage("booking refused");

    assertThat(stopped).hasSize(1);
    assertThat(stopped.get(0).getError()).hasMessage("booking refused");
    assertThat(stopped.get(0).getLowCardinalityKeyValue("outbox.inbox.outcome").getValue())
        .isEqualTo("failed");
  }

  @Test
  void anUnobservedInboxAndARegistryWithoutHandlersObserveNothing() {
    assertThat(KafkaInbox.of(memory, "ledger").process(record("e-3", 13), r -> {})).isTrue();
    assertThat(
            KafkaInbox.of(memory, "ledger")
                .observed(ObservationRegistry.create())
                .process(record("e-4", 14), r -> {}))
        .isTrue();
    assertThat(stopped).isEmpty();
  }
}
