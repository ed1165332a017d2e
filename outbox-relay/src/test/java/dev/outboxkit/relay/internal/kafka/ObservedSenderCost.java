package dev.outboxkit.relay.internal.kafka;

import static dev.outboxkit.relay.internal.kafka.InMemorySender.pending;

import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.delivery.ManagedBatchSender;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.relay.spi.TopicRouter;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A rough measurement (not a test) of what the publish observation costs per event: the in-memory
 * sender alone, wrapped with a registry without handlers, and wrapped with one do-nothing handler.
 * Run with {@code java -cp <test classpath> dev.outboxkit.relay.internal.kafka.ObservedSenderCost};
 * the figures are in docs/tracing.md.
 */
final class ObservedSenderCost {

  private ObservedSenderCost() {}

  public static void main(String[] args) {
    List<PendingEvent> batch = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      batch.add(pending(i, "Payment", "PaymentAuthorized"));
    }
    InMemorySender plain = new InMemorySender(p -> new PublishResult.Acked(p, Instant.EPOCH));
    TopicRouter router = TopicRouter.prefixed("t-");
    ObservationRegistry on = ObservationRegistry.create();
    on.observationConfig()
        .observationHandler(
            new ObservationHandler<Observation.Context>() {
              @Override
              public boolean supportsContext(Observation.Context context) {
                return true;
              }
            });
    ManagedBatchSender noHandlers =
        new ObservedBatchSender(plain, router, ObservationRegistry.create(), null);
    ManagedBatchSender observed = new ObservedBatchSender(plain, router, on, null);
    for (int round = 0; round < 3; round++) {
      System.out.printf(
          "round %d: plain %.1f ns/event, registry without handlers %.1f ns/event,"
              + " one do-nothing handler %.1f ns/event%n",
          round, perEvent(plain, batch), perEvent(noHandlers, batch), perEvent(observed, batch));
    }
  }

  private static double perEvent(ManagedBatchSender sender, List<PendingEvent> batch) {
    int batches = 50_000;
    long sink = 0;
    long start = System.nanoTime();
    for (int i = 0; i < batches; i++) {
      sink += sender.send(batch).await().size();
    }
    long elapsed = System.nanoTime() - start;
    if (sink != (long) batches * batch.size()) {
      throw new IllegalStateException("lost results");
    }
    return (double) elapsed / sink;
  }
}
