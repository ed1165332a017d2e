package dev.outboxkit.chaos;

import dev.outboxkit.test.RestartableDatabaseServer;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * The database server crashes (SIGKILL to it and its children, no shutdown), stays down for a
 * second and comes back on the same port and data directory after crash recovery, as a database
 * host that died and restarted. Embedded databases only: the user's server is not this kit's to
 * kill.
 */
final class RestartDatabaseFault implements Fault {

  private static final Duration DOWN = Duration.ofSeconds(1);

  @Override
  public String name() {
    return "restart-database";
  }

  @Override
  public @Nullable String unavailableReason(FaultContext context) {
    return context.environment().restartableServer() == null
        ? "the database is not one this run started (--jdbc-url)"
        : null;
  }

  @Override
  public FaultRecord inject(FaultContext context) {
    RestartableDatabaseServer server = context.environment().restartableServer();
    if (server == null) {
      throw new IllegalStateException(unavailableReason(context));
    }
    long start = context.clock().millis();
    server.kill();
    Pause.of(DOWN);
    Duration ready = server.restart();
    return new FaultRecord(
        name(),
        "database (back after " + ready.toMillis() + " ms)",
        start,
        context.clock().millis(),
        FaultRecord.Measure.RECOVERY,
        context.allPartitions().get(),
        context.config().relays());
  }
}
