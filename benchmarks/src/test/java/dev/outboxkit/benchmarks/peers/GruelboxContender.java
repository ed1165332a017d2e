package dev.outboxkit.benchmarks.peers;

import com.gruelbox.transactionoutbox.Dialect;
import com.gruelbox.transactionoutbox.Instantiator;
import com.gruelbox.transactionoutbox.Persistor;
import com.gruelbox.transactionoutbox.Submitter;
import com.gruelbox.transactionoutbox.TransactionManager;
import com.gruelbox.transactionoutbox.TransactionOutbox;
import dev.outboxkit.test.TestDatabase;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;

/**
 * gruelbox transaction-outbox 4.2: each scheduled call is a row; after commit it is submitted to an
 * executor that, per entry, locks the row, makes the call (a Kafka send, waited for) and deletes
 * the row, in one transaction per entry. A backlog (entries whose immediate submission never ran,
 * as after a broker outage or a crash) is picked up by {@code flush()}, which the application calls
 * periodically; here a thread calls it whenever the executor's queue runs low.
 *
 * <p>Benchmark specifics: while the backlog is built, submissions are dropped and the library's
 * clock runs an hour behind, so the entries are due at once when draining starts (the library's
 * default retry interval is 2 minutes). The default submitter has one thread; this one has four, as
 * many as namastack-outbox's default executor.
 */
final class GruelboxContender implements Contender {

  private static final int THREADS = 4;

  private final String topic;
  private final int payloadSize;
  private final KafkaProducer<String, byte[]> producer;
  private final ThreadPoolExecutor executor;
  private final TransactionManager transactions;
  private final TransactionOutbox outbox;
  private volatile boolean submitting = true;
  private volatile Duration clockOffset = Duration.ZERO;
  private volatile boolean flushing;
  private Thread flusher;

  GruelboxContender(TestDatabase db, String bootstrapServers, String topic, int payloadSize) {
    this.topic = topic;
    this.payloadSize = payloadSize;
    this.producer = Producers.create(bootstrapServers, 0);
    AtomicInteger threads = new AtomicInteger();
    this.executor =
        new ThreadPoolExecutor(
            THREADS,
            THREADS,
            0,
            TimeUnit.MILLISECONDS,
            new LinkedBlockingQueue<>(),
            r -> new Thread(r, "peers-gruelbox-" + threads.incrementAndGet()));
    Submitter pool = Submitter.withExecutor(executor);
    GruelboxSender sender = new GruelboxSender(producer);
    this.transactions = TransactionManager.fromDataSource(db.dataSource());
    this.outbox =
        TransactionOutbox.builder()
            .transactionManager(transactions)
            .persistor(Persistor.forDialect(Dialect.POSTGRESQL_9))
            .instantiator(Instantiator.using(type -> sender))
            .submitter(
                (entry, work) -> {
                  if (submitting) {
                    pool.submit(entry, work);
                  }
                })
            .clockProvider(() -> Clock.offset(Clock.systemUTC(), clockOffset))
            .build();
  }

  @Override
  public String name() {
    return "gruelbox transaction-outbox 4.2.268";
  }

  @Override
  public String topic() {
    return topic;
  }

  @Override
  public String settings() {
    return "PostgreSQL persistor, defaults (flush batch 4096), executor of "
        + THREADS
        + " threads, send waited for (linger.ms=0); backlog drained by flush() when the queue"
        + " runs low";
  }

  @Override
  public void fill(int events, int keys, int perTransaction) {
    submitting = false;
    clockOffset = Duration.ofHours(-1);
    String payload = Payloads.of(System.currentTimeMillis(), payloadSize);
    for (int from = 0; from < events; from += perTransaction) {
      int start = from;
      transactions.inTransaction(
          () -> {
            for (int i = start; i < Math.min(events, start + perTransaction); i++) {
              outbox.schedule(GruelboxSender.class).send(topic, "key-" + i % keys, payload);
            }
          });
    }
    clockOffset = Duration.ZERO;
  }

  @Override
  public void resume() {
    submitting = true;
    flushing = true;
    flusher =
        new Thread(
            () -> {
              while (flushing) {
                if (executor.getQueue().size() >= 1000 || !outbox.flush()) {
                  try {
                    Thread.sleep(20);
                  } catch (InterruptedException e) {
                    return;
                  }
                }
              }
            },
            "peers-gruelbox-flusher");
    flusher.start();
  }

  @Override
  public void pause() {
    flushing = false;
    if (flusher != null) {
      try {
        flusher.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while stopping the flusher", e);
      }
      flusher = null;
    }
  }

  @Override
  public void appendOne(String key, String payload) {
    transactions.inTransaction(
        () -> outbox.schedule(GruelboxSender.class).send(topic, key, payload));
  }

  @Override
  public void close() {
    pause();
    executor.shutdownNow();
    producer.close();
  }
}
