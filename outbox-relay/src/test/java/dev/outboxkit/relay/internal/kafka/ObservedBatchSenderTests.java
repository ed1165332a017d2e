package dev.outboxkit.relay.internal.kafka;

import static dev.outboxkit.relay.internal.kafka.InMemorySender.pending;
import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.delivery.BatchSender;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.relay.observation.OutboxPublishContext;
import dev.outboxkit.relay.spi.TopicRouter;
import io.micrometer.common.KeyValue;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ObservedBatchSenderTests {

  private final List<OutboxPublishContext> stopped = new CopyOnWriteArrayList<>();

  private ObservationRegistry recording() {
    ObservationRegistry registry = ObservationRegistry.create();
    registry
        .observationConfig()
        .observationHandler(
            new ObservationHandler<OutboxPublishContext>() {
              @Override
              public void onStop(OutboxPublishContext context) {
                stopped.add(context);
              }

              @Override
              public boolean supportsContext(Observation.Context context) {
                return context instanceof OutboxPublishContext;
              }
            });
    return registry;
  }

  @Test
  void observesEachEventOfABatchWithItsOutcomeTopicAndIdButNoPayloadOrKey() {
    PendingEvent acked = pending(1, "Payment", "PaymentAuthorized");
    PendingEvent failed = pending(2, "Payment", "PaymentCaptured");
    PendingEvent deferred = pending(3, "Payment", "PaymentRefunded");
    InMemorySender delegate =
        new InMemorySender(
            p ->
                p == acked
                    ? new PublishResult.Acked(p, Instant.EPOCH)
                    : p == failed
                        ? new PublishResult.Failed(
                            p, "TimeoutException: no ack", PublishResult.FailureKind.BROKER)
                        : new PublishResult.Deferred(p));
    ObservedBatchSender sender =
        new ObservedBatchSender(delegate, TopicRouter.prefixed("t-"), recording(), null);

    List<PublishResult> results = sender.send(List.of(acked, failed, deferred)).await();

    assertThat(results).hasSize(3);
    assertThat(stopped).hasSize(3);
    assertThat(stopped)
        .extracting(c -> c.getLowCardinalityKeyValue("outbox.outcome").getValue())
        .containsExactly("acked", "failed", "deferred");
    assertThat(stopped)
        .extracting(Observation.Context::getContextualName)
        .containsOnly("send t-Payment");
    assertThat(stopped.get(0).getHighCardinalityKeyValue("messaging.message.id").getValue())
        .isEqualTo(acked.event().id().toString());
    assertThat(stopped.get(1).getError()).hasMessageContaining("BROKER");
    String allValues =
        stopped.stream()
            .flatMap(c -> c.getAllKeyValues().stream())
            .map(KeyValue::getValue)
            .collect(Collectors.joining(","));
    assertThat(allValues).doesNotContain("secret-payload").doesNotContain("key-1");
  }

  @Test
  void aRegistryWithoutHandlersCostsNoContextPerEvent() {
    InMemorySender delegate = new InMemorySender(p -> new PublishResult.Acked(p, Instant.EPOCH));
    ObservedBatchSender sender =
        new ObservedBatchSender(
            delegate, TopicRouter.prefixed("t-"), ObservationRegistry.create(), null);

    BatchSender.InFlight inFlight = sender.send(List.of(pending(1, "Payment", "X")));

    // The delegate's own in-flight batch comes back: nothing was wrapped or observed.
    assertThat(inFlight.getClass().getEnclosingClass()).isEqualTo(InMemorySender.class);
    assertThat(inFlight.await()).hasSize(1);
  }

  /**
   * Review of 0.8 (review2): an observation handler that throws when an observation stops (a
   * tracing or metrics handler bug, an exporter refusing a span) made {@code await()} throw after
   * the broker had acknowledged the batch. The relay then records nothing for it and sends the same
   * events again on its next poll, and again after that: with a handler that always throws, every
   * batch is published over and over and the outbox never drains. The broker's results must come
   * back whatever the observations do.
   */
  @Test
  void aHandlerThatThrowsOnStopDoesNotLoseTheBrokersAcknowledgements() {
    ObservationRegistry registry = ObservationRegistry.create();
    registry
        .observationConfig()
        .observationHandler(
            new ObservationHandler<OutboxPublishContext>() {
              @Override
              public void onStop(OutboxPublishContext context) {
                throw new IllegalStateException("exporter refused the span");
              }

              @Override
              public boolean supportsContext(Observation.Context context) {
                return context instanceof OutboxPublishContext;
              }
            });
    PendingEvent one = pending(1, "Payment", "PaymentAuthorized");
    PendingEvent two = pending(2, "Payment", "PaymentCaptured");
    InMemorySender delegate = new InMemorySender(p -> new PublishResult.Acked(p, Instant.EPOCH));
    ObservedBatchSender sender =
        new ObservedBatchSender(delegate, TopicRouter.prefixed("t-"), registry, null);

    BatchSender.InFlight inFlight = sender.send(List.of(one, two));

    assertThat(org.assertj.core.api.Assertions.catchThrowable(inFlight::await))
        .as("await() of a batch the broker acknowledged")
        .isNull();
  }

  /**
   * Review of 0.8 (review2): an observation handler that throws when an observation starts made
   * {@code send()} throw before anything reached the delegate (and left the observations started
   * before it unstopped). The polling loop logs the failure and polls again, so with a handler that
   * always throws no event is ever published while the relay reports itself running.
   */
  @Test
  void aHandlerThatThrowsOnStartDoesNotStopTheBatchFromBeingHandedOver() {
    ObservationRegistry registry = ObservationRegistry.create();
    registry
        .observationConfig()
        .observationHandler(
            new ObservationHandler<OutboxPublishContext>() {
              @Override
              public void onStart(OutboxPublishContext context) {
                throw new IllegalStateException("tracer refused the span");
              }

              @Override
              public boolean supportsContext(Observation.Context context) {
                return context instanceof OutboxPublishContext;
              }
            });
    List<PendingEvent> handedOver = new CopyOnWriteArrayList<>();
    InMemorySender delegate =
        new InMemorySender(
            p -> {
              handedOver.add(p);
              return new PublishResult.Acked(p, Instant.EPOCH);
            });
    ObservedBatchSender sender =
        new ObservedBatchSender(delegate, TopicRouter.prefixed("t-"), registry, null);
    PendingEvent one = pending(1, "Payment", "PaymentAuthorized");
    PendingEvent two = pending(2, "Payment", "PaymentCaptured");

    Throwable thrown =
        org.assertj.core.api.Assertions.catchThrowable(() -> sender.send(List.of(one, two)));

    assertThat(thrown).as("send() of a batch whose observations could not start").isNull();
    assertThat(handedOver).containsExactly(one, two);
  }
}
