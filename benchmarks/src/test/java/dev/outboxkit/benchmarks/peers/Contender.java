package dev.outboxkit.benchmarks.peers;

/**
 * One outbox (or the raw producer) in {@link PeerBenchmark}: it appends events with its own API
 * into its own database on the shared PostgreSQL server and drains them to its own topic on the
 * shared broker. Draining is paused while a backlog is built, as during a broker outage, then
 * resumed; the benchmark's consumer times the arrivals, so every contender is measured the same
 * way.
 */
interface Contender extends AutoCloseable {

  /** The label in the report. */
  String name();

  /** The topic this contender publishes to. */
  String topic();

  /** One line on how it is configured, for the report. */
  String settings();

  /**
   * Appends {@code events} events (keys {@code key-0 … key-(keys-1)}) in transactions of {@code
   * perTransaction}, with draining paused.
   */
  void fill(int events, int keys, int perTransaction);

  /** Starts draining; returns at once. */
  void resume();

  /** Stops draining; returns once it has stopped. */
  void pause();

  /** Appends one event in its own transaction while draining runs (the latency pass). */
  void appendOne(String key, String payload);

  @Override
  void close();
}
