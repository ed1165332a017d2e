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
    String drain = pass.database().handRolledDrain(HandRolledRelay.BATCH);
    if (drain == null) {
      throw new IllegalArgumentException(
          "hand-rolled: no DELETE … RETURNING on " + pass.database().kind().key());
    }
    HandRolledRelay relay =
        new HandRolledRelay(pass.db().dataSource(), drain, pass.bootstrapServers());
    relay.start();
    return relay;
  }
}
