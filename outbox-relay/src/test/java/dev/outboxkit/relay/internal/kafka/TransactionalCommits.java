package dev.outboxkit.relay.internal.kafka;

import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * Test access to the commit step of {@link TransactionalProducers}, so that the server-free
 * delivery model (in another package) reports aborted transactions exactly as the publisher does:
 * the model supplies each record's callback result and one {@link MockProducer} per outbox
 * partition, scripted to commit, time out, be fenced or be refused.
 */
public final class TransactionalCommits implements AutoCloseable {

  private final TransactionalProducers producers;

  public TransactionalCommits(Clock clock) {
    this.producers =
        new TransactionalProducers(
            Map.of(ProducerConfig.CLIENT_ID_CONFIG, "delivery-model"),
            "delivery-model",
            clock,
            KafkaProducer::new);
  }

  /**
   * The batch's results after each partition's transaction was committed (or failed to).
   *
   * @param callbacks one per event, in batch order: what its callback (or the refusal before the
   *     handover) said
   * @param open the partitions whose transaction the batch began, their mock producers in a
   *     transaction
   */
  public List<PublishResult> awaitCommits(
      List<PendingEvent> batch,
      List<PublishResult> callbacks,
      Map<Integer, Producer<byte[], byte[]>> open) {
    List<CompletableFuture<PublishResult>> results = new ArrayList<>(callbacks.size());
    callbacks.forEach(r -> results.add(CompletableFuture.completedFuture(r)));
    return producers.awaitCommits(batch, results, new AtomicBoolean(), open, 1_000);
  }

  @Override
  public void close() {
    producers.close(Duration.ZERO);
  }
}
