package dev.outboxkit.benchmarks;

/** The {@link HandRolledRelay} on OutboxKit's table. */
final class HandRolledContender implements DrainContender {

  @Override
  public String name() {
    return "hand-rolled";
  }

  @Override
  public void prepare(Pass pass) throws Exception {
    OutboxBacklog.load(pass);
  }

  @Override
  public AutoCloseable start(Pass pass) {
    return RelayModes.startHandRolled(
        pass.db().dataSource(), pass.database().kind(), pass.bootstrapServers());
  }
}
