package dev.outboxkit.relay;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

/**
 * A writer that commits rounds of one event per key ({@code "key-<k>"}, value {@code
 * "<round>:<k>"}, as {@link Ordering} reads them), every 10 ms, until stopped: the steady load of
 * the crash, zombie and partition tests.
 */
final class CountedWriter implements AutoCloseable {

  private final AtomicBoolean writing = new AtomicBoolean(true);
  private final AtomicInteger rounds = new AtomicInteger();
  private final ExecutorService executor = Executors.newSingleThreadExecutor();
  private final Future<?> written;
  private final int keys;

  CountedWriter(JdbcTransactions tx, Outbox outbox, String topic, int keys) {
    this.keys = keys;
    this.written =
        executor.submit(
            () -> {
              for (int n = 0; writing.get(); n++) {
                int round = n;
                tx.execute(
                    c ->
                        outbox.appendAll(
                            IntStream.range(0, keys)
                                .mapToObj(
                                    k ->
                                        OutboxMessage.of(
                                            topic, "key-" + k, "Counted", round + ":" + k))
                                .toList()));
                rounds.incrementAndGet();
                Thread.sleep(10);
              }
              return null;
            });
  }

  /** Stops writing, waits for the round under way, and returns how many events were committed. */
  int stop() throws Exception {
    writing.set(false);
    written.get(30, TimeUnit.SECONDS);
    return rounds.get() * keys;
  }

  @Override
  public void close() {
    writing.set(false);
    executor.shutdownNow();
  }
}
