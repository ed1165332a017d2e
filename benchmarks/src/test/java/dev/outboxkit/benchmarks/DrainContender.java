package dev.outboxkit.benchmarks;

import dev.outboxkit.test.TestDatabase;

/**
 * One way of draining an outbox backlog to Kafka, measured by {@link DrainBenchmark}: the harness
 * calls {@link #prepare} (not timed), then {@link #start} and times until its own consumer has
 * received every event of the pass, then closes what {@code start} returned. Peers (other outbox
 * libraries) are added as further implementations.
 */
interface DrainContender {

  /** The name printed in the report. */
  String name();

  /** Creates what the contender needs and loads the pass's backlog; not timed. */
  void prepare(Pass pass) throws Exception;

  /** Starts draining the backlog to {@code pass.topic()}; closing the result stops it. */
  AutoCloseable start(Pass pass) throws Exception;

  /**
   * One measured pass on {@code db} (of {@code database}): {@code events} events of {@code payload}
   * over {@code keys} keys, to be published to {@code topic} of the broker at {@code
   * bootstrapServers}.
   */
  record Pass(
      TestDatabase db,
      BenchDatabase database,
      String bootstrapServers,
      String topic,
      int events,
      int keys,
      byte[] payload) {}
}
