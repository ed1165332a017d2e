package dev.outboxkit.benchmarks;

import dev.outboxkit.relay.OutboxRelay;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * OutboxKit's polling relay with its default settings (nothing set but where to read and write), or
 * with {@code -Dbench.batch} and {@code -Dbench.threads} when given.
 */
final class OutboxKitPollingContender implements DrainContender {

  @Override
  public String name() {
    return "outboxkit-polling";
  }

  @Override
  public void prepare(Pass pass) throws Exception {
    OutboxBacklog.load(pass);
  }

  @Override
  public AutoCloseable start(Pass pass) {
    OutboxRelay.Builder builder =
        OutboxRelay.builder()
            .dataSource(pass.db().dataSource())
            .bootstrapServers(pass.bootstrapServers())
            .meterRegistry(new SimpleMeterRegistry());
    Integer batch = Integer.getInteger("bench.batch");
    if (batch != null) {
      builder.batchSize(batch);
    }
    Integer threads = Integer.getInteger("bench.threads");
    if (threads != null) {
      builder.publishThreads(threads);
    }
    OutboxRelay relay = builder.build();
    relay.start();
    return relay;
  }
}
