package dev.outboxkit.relay.internal.kafka;

import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.delivery.ManagedBatchSender;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.relay.observation.DefaultOutboxPublishObservationConvention;
import dev.outboxkit.relay.observation.OutboxPublishContext;
import dev.outboxkit.relay.observation.OutboxPublishObservationConvention;
import dev.outboxkit.relay.spi.TopicRouter;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wraps the publisher so that each event of a batch is one publish observation, from the moment the
 * batch is handed over until its acknowledgement was awaited. One observation per event, not per
 * batch: the events of a batch come from different requests and so different traces, and a
 * per-event span is a child of its own append span, found by its trace id alone. Made only when the
 * relay has an observation registry, so a relay without one pays nothing per event.
 */
final class ObservedBatchSender implements ManagedBatchSender {

  private static final DefaultOutboxPublishObservationConvention DEFAULT =
      new DefaultOutboxPublishObservationConvention();

  private static final Logger log = LoggerFactory.getLogger(ObservedBatchSender.class);

  private static final AtomicBoolean WARNED = new AtomicBoolean();

  private final ManagedBatchSender delegate;
  private final TopicRouter router;
  private final ObservationRegistry registry;
  private final @Nullable OutboxPublishObservationConvention convention;

  ObservedBatchSender(
      ManagedBatchSender delegate,
      TopicRouter router,
      ObservationRegistry registry,
      @Nullable OutboxPublishObservationConvention convention) {
    this.delegate = delegate;
    this.router = router;
    this.registry = registry;
    this.convention = convention;
  }

  @Override
  public InFlight send(List<PendingEvent> batch) {
    return send(batch, () -> true);
  }

  @Override
  public InFlight send(List<PendingEvent> batch, BooleanSupplier mayHandOver) {
    if (registry.isNoop()) {
      // A registry without handlers (Boot's, with no tracing set up): no context per event.
      return delegate.send(batch, mayHandOver);
    }
    List<Observation> observations = new ArrayList<>(batch.size());
    List<OutboxPublishContext> contexts = new ArrayList<>(batch.size());
    for (PendingEvent pending : batch) {
      OutboxPublishContext context = new OutboxPublishContext(pending.event(), topic(pending));
      Observation observation;
      try {
        observation = Observation.createNotStarted(convention, DEFAULT, () -> context, registry);
        observation.start();
      } catch (RuntimeException e) {
        // A handler or convention that fails must not keep the event from being sent.
        warnOnce("start", e);
        observation = Observation.NOOP;
      }
      contexts.add(context);
      observations.add(observation);
    }
    InFlight inFlight;
    try {
      inFlight = delegate.send(batch, mayHandOver);
    } catch (RuntimeException e) {
      stopAll(observations, contexts, e);
      throw e;
    }
    return new InFlight() {
      @Override
      public List<PendingEvent> batch() {
        return inFlight.batch();
      }

      @Override
      public List<PublishResult> await() {
        List<PublishResult> results;
        try {
          results = inFlight.await();
        } catch (RuntimeException e) {
          stopAll(observations, contexts, e);
          throw e;
        }
        for (int i = 0; i < observations.size(); i++) {
          stop(observations.get(i), contexts.get(i), i < results.size() ? results.get(i) : null);
        }
        return results;
      }
    };
  }

  private @Nullable String topic(PendingEvent pending) {
    try {
      return router.topic(pending.event());
    } catch (RuntimeException e) {
      // The publisher reports the router's failure as the event's result; the span says "unknown".
      return null;
    }
  }

  private static void stop(
      Observation observation, OutboxPublishContext context, @Nullable PublishResult result) {
    try {
      record(observation, context, result);
    } catch (RuntimeException e) {
      // The broker's results stand whatever a handler does with the span: lost, the rows would
      // stay pending and be sent again, batch after batch.
      warnOnce("stop", e);
    }
  }

  private static void record(
      Observation observation, OutboxPublishContext context, @Nullable PublishResult result) {
    if (result instanceof PublishResult.Acked) {
      context.outcome(OutboxPublishContext.Outcome.ACKED);
    } else if (result instanceof PublishResult.Failed failed) {
      context.outcome(OutboxPublishContext.Outcome.FAILED);
      // The failure's text names the kind and the broker's error class, never the payload.
      observation.error(new PublishFailure(failed.kind() + ": " + failed.error()));
    } else {
      context.outcome(OutboxPublishContext.Outcome.DEFERRED);
    }
    observation.stop();
  }

  private static void stopAll(
      List<Observation> observations, List<OutboxPublishContext> contexts, RuntimeException e) {
    for (int i = 0; i < observations.size(); i++) {
      try {
        contexts.get(i).outcome(OutboxPublishContext.Outcome.FAILED);
        observations.get(i).error(e);
        observations.get(i).stop();
      } catch (RuntimeException handlerFailure) {
        warnOnce("stop", handlerFailure);
      }
    }
  }

  /** Says once per process that publish observations fail, without failing a send for it. */
  private static void warnOnce(String phase, RuntimeException e) {
    if (WARNED.compareAndSet(false, true)) {
      log.warn(
          "A publish observation failed to {} ({}); events are sent regardless, and the"
              + " observations may be incomplete. Check the observation handlers and conventions.",
          phase,
          e.toString());
    } else {
      log.debug("A publish observation failed to {}", phase, e);
    }
  }

  @Override
  public boolean sendDeadLetter(PendingEvent event, String topic, String error) {
    return delegate.sendDeadLetter(event, topic, error);
  }

  @Override
  public CompletionStage<Void> copyToDeadLetter(PendingEvent event, String topic, String error) {
    return delegate.copyToDeadLetter(event, topic, error);
  }

  @Override
  public void start() {
    delegate.start();
  }

  @Override
  public void close(Duration timeout) {
    delegate.close(timeout);
  }

  /** The error a failed publish observation carries: the relay's description of the failure. */
  private static final class PublishFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    PublishFailure(String message) {
      super(message, null, false, false);
    }
  }
}
