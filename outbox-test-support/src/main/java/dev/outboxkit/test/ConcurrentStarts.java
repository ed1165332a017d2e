package dev.outboxkit.test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Instances that start at the same moment, round after round: the replicas of a deployment that all
 * create their tables at start-up. Each round releases every instance through one barrier and waits
 * (bounded) until all are done; a start that throws is recorded, not rethrown, so a test sees every
 * failure of every round.
 */
public final class ConcurrentStarts {

  private ConcurrentStarts() {}

  /** One instance's start in a round. */
  @FunctionalInterface
  public interface Start {
    /**
     * Starts.
     *
     * @param round the round, from 0
     * @throws Exception when the start fails
     */
    void run(int round) throws Exception;
  }

  /**
   * Runs {@code rounds} rounds of {@code instances} starts at once.
   *
   * @return one line per failed start: its round, the exception and its innermost cause's message
   * @throws Exception when a round does not end within a minute
   */
  public static List<String> race(int instances, int rounds, Start start) throws Exception {
    List<String> failures = new CopyOnWriteArrayList<>();
    AtomicInteger threads = new AtomicInteger();
    ExecutorService pool =
        Executors.newFixedThreadPool(
            instances, r -> new Thread(r, "concurrent-start-" + threads.incrementAndGet()));
    try {
      for (int round = 0; round < rounds; round++) {
        CyclicBarrier barrier = new CyclicBarrier(instances);
        List<Future<?>> done = new ArrayList<>();
        int r = round;
        for (int i = 0; i < instances; i++) {
          done.add(
              pool.submit(
                  () -> {
                    barrier.await(30, TimeUnit.SECONDS);
                    try {
                      start.run(r);
                    } catch (Exception e) {
                      Throwable cause = e;
                      while (cause.getCause() != null) {
                        cause = cause.getCause();
                      }
                      failures.add("round " + r + ": " + e + " / cause: " + cause.getMessage());
                    }
                    return null;
                  }));
        }
        for (Future<?> f : done) {
          f.get(60, TimeUnit.SECONDS);
        }
      }
    } finally {
      pool.shutdownNow();
    }
    return failures;
  }
}
