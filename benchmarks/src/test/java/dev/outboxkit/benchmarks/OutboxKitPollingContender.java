package dev.outboxkit.benchmarks;

import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.RelayConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * OutboxKit's polling relay with its default settings (nothing set but where to read and write), or
 * with {@code -Dbench.batch} and {@code -Dbench.threads} when given.
 */
final class OutboxKitPollingContender implements DrainContender {

  /** A fixed number of publishing threads, or null for the defaults (and {@code bench.threads}). */
  private final Integer fixedThreads;

  OutboxKitPollingContender() {
    this(null);
  }

  /**
   * The same relay with {@code threads} fixed publishing threads, to run next to the defaults in
   * one JVM ({@code outboxkit-polling-<threads>t}).
   */
  OutboxKitPollingContender(Integer threads) {
    this.fixedThreads = threads;
  }

  @Override
  public String name() {
    return fixedThreads == null ? "outboxkit-polling" : "outboxkit-polling-" + fixedThreads + "t";
  }

  @Override
  public void prepare(Pass pass) throws Exception {
    OutboxBacklog.load(pass);
  }

  @Override
  public AutoCloseable start(Pass pass) {
    RelayConfig.Builder config = RelayConfig.custom().bootstrapServers(pass.bootstrapServers());
    Integer batch = Integer.getInteger("bench.batch");
    if (batch != null) {
      config.batchSize(batch);
    }
    Integer threads = fixedThreads != null ? fixedThreads : Integer.getInteger("bench.threads");
    if (threads != null) {
      config.polling(RelayConfig.Polling.ofDefaults().withPublishThreads(threads));
    }
    OutboxRelay relay =
        OutboxRelay.builder()
            .dataSource(pass.db().dataSource())
            .config(config.build())
            .meterRegistry(new SimpleMeterRegistry())
            .build();
    relay.start();
    return relay;
  }
}
