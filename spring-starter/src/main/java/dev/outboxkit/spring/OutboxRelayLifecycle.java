package dev.outboxkit.spring;

import dev.outboxkit.outbox.OutboxStoreException;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.RelaySchema;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.springframework.context.SmartLifecycle;

/**
 * Starts the relay once the context is ready and stops it first on shutdown, so the batch in flight
 * finishes and the leases are released while the DataSource is still open.
 */
public final class OutboxRelayLifecycle implements SmartLifecycle {

  private final OutboxRelay relay;
  private final @Nullable SchemaSetup schema;
  private final AtomicBoolean running = new AtomicBoolean();

  /** The relay's tables to create before starting, when asked for. */
  public record SchemaSetup(
      DataSource dataSource,
      OutboxDialect dialect,
      OutboxTable outbox,
      OutboxTable leases,
      OutboxTable members) {}

  /**
   * @param relay the relay to run
   * @param schema the tables to create before the first start, or {@code null} to only check them
   */
  public OutboxRelayLifecycle(OutboxRelay relay, @Nullable SchemaSetup schema) {
    this.relay = relay;
    this.schema = schema;
  }

  @Override
  public void start() {
    if (!running.compareAndSet(false, true)) {
      return;
    }
    if (schema != null) {
      try (Connection c = schema.dataSource().getConnection()) {
        c.setAutoCommit(true);
        RelaySchema.create(c, schema.dialect(), schema.outbox(), schema.leases(), schema.members());
      } catch (SQLException e) {
        throw new OutboxStoreException("Could not create the relay tables", e);
      }
    }
    relay.start();
  }

  @Override
  public void stop() {
    if (running.compareAndSet(true, false)) {
      relay.close();
    }
  }

  @Override
  public boolean isRunning() {
    return running.get();
  }
}
