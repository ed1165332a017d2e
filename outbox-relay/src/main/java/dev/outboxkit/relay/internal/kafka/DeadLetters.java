package dev.outboxkit.relay.internal.kafka;

import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.spi.TopicRouter;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.jspecify.annotations.Nullable;

/**
 * Copies parked events to the dead-letter topic: the same record as a normal send (so consumers of
 * the dead-letter topic can read it the same way) plus two headers, the error that parked it and
 * the topic it was meant for (empty when the router itself failed).
 *
 * <p>Copies never run on the publishing thread. A copy can block for {@code max.block.ms} (a
 * missing or unreachable dead-letter topic), and the publishing thread holds its partitions while
 * it decides a batch; so copies go, in the order they were parked, through one named daemon thread
 * and an idempotent producer of their own (created on the first copy, replaced after an error that
 * leaves it unusable). Up to {@value #QUEUE} copies wait; beyond that a copy fails at once. A copy
 * that fails completes its future exceptionally and is never retried: the event is parked in the
 * outbox table either way, and the table, not the dead-letter topic, is what operators list and
 * replay from.
 */
final class DeadLetters {

  /** Copies that may wait for the copying thread. */
  static final int QUEUE = 10_000;

  private final TopicRouter router;
  private final SharedProducer producer;
  private final String threadName;
  private @Nullable ExecutorService copier;
  // Set by close(): no copying thread is started after it (it would never be stopped).
  private boolean closed;

  /**
   * @param router the topic router, for the original-topic header
   * @param producer the copies' own producer, used only by the copying thread
   * @param threadName the copying thread's name
   */
  DeadLetters(TopicRouter router, SharedProducer producer, String threadName) {
    this.router = router;
    this.producer = producer;
    this.threadName = threadName;
  }

  /**
   * Hands the copy to the copying thread and returns at once.
   *
   * @return completes once the broker acknowledged the copy, exceptionally when it did not (with
   *     the producer's error described)
   */
  CompletableFuture<Void> copy(PendingEvent pending, String topic, String error) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    ExecutorService c = copier();
    if (c == null) {
      done.completeExceptionally(
          new IllegalStateException("The relay stopped before the copy was sent"));
      return done;
    }
    try {
      c.execute(new Copy(pending, topic, error, done));
    } catch (RejectedExecutionException e) {
      done.completeExceptionally(
          new IllegalStateException(
              "Dead-letter copies are not keeping up (" + QUEUE + " waiting) or stopped"));
    }
    return done;
  }

  /** One copy waiting for the copying thread; failed if the thread stops before it ran. */
  private final class Copy implements Runnable {
    private final PendingEvent pending;
    private final String topic;
    private final String error;
    private final CompletableFuture<Void> done;

    Copy(PendingEvent pending, String topic, String error, CompletableFuture<Void> done) {
      this.pending = pending;
      this.topic = topic;
      this.error = error;
      this.done = done;
    }

    @Override
    public void run() {
      send(pending, topic, error, done);
    }
  }

  private void send(
      PendingEvent pending, String topic, String error, CompletableFuture<Void> done) {
    String original;
    try {
      original = router.topic(pending.event());
    } catch (RuntimeException e) {
      original = "";
    }
    ProducerRecord<byte[], byte[]> record = KafkaRecords.toRecord(pending.event(), topic);
    record.headers().add(OutboxHeaders.ERROR, KafkaRecords.utf8(error));
    record.headers().add(OutboxHeaders.ORIGINAL_TOPIC, KafkaRecords.utf8(original));
    try {
      producer
          .get()
          .send(
              record,
              (metadata, failure) -> {
                if (failure == null) {
                  done.complete(null);
                } else {
                  done.completeExceptionally(failed(failure));
                }
              });
    } catch (KafkaException | IllegalStateException e) {
      if (KafkaErrors.needsNewProducer(e) || KafkaErrors.inErrorState(e)) {
        producer.reset();
      }
      done.completeExceptionally(failed(e));
    }
  }

  private static void stopNow(ExecutorService c) {
    for (Runnable waiting : c.shutdownNow()) {
      if (waiting instanceof Copy copy) {
        copy.done.completeExceptionally(
            new IllegalStateException("The relay stopped before the copy was sent"));
      }
    }
  }

  private static IllegalStateException failed(Throwable error) {
    return new IllegalStateException(KafkaErrors.describe(error), error);
  }

  /** The copying executor, started on first use; {@code null} once closed. */
  private synchronized @Nullable ExecutorService copier() {
    if (closed) {
      return null;
    }
    ExecutorService c = copier;
    if (c == null) {
      c =
          new ThreadPoolExecutor(
              1,
              1,
              0,
              TimeUnit.MILLISECONDS,
              new ArrayBlockingQueue<>(QUEUE),
              r -> {
                Thread t = new Thread(r, threadName);
                t.setDaemon(true);
                return t;
              });
      copier = c;
    }
    return c;
  }

  /**
   * Stops taking copies, lets the waiting ones go out for up to {@code timeout}, then closes the
   * producer (waiting up to {@code timeout} for its buffered copies).
   */
  void close(Duration timeout) {
    ExecutorService c;
    synchronized (this) {
      closed = true;
      c = copier;
      copier = null;
    }
    if (c != null) {
      c.shutdown();
      try {
        if (!c.awaitTermination(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          stopNow(c);
        }
      } catch (InterruptedException e) {
        stopNow(c);
        Thread.currentThread().interrupt();
      }
    }
    producer.close(timeout);
  }
}
