package dev.outboxkit.relay.internal.polling;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.LeaseStore;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.SessionLock;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * Lease managers on the default tables, 16 partitions, a 30 s TTL and a 1 s send window, driven by
 * tests that call their heartbeats themselves.
 */
final class TestLeaseManagers {

  private TestLeaseManagers() {}

  /** Empties the lease and member tables. */
  static void clearLeaseTables(DataSource dataSource) throws SQLException {
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_relay_lease");
      s.execute("DELETE FROM outbox_relay_member");
    }
  }

  /** An initialised manager for {@code name}, renewing every {@code heartbeat}. */
  static LeaseManager create(
      DataSource dataSource,
      OutboxDialect dialect,
      String name,
      Duration heartbeat,
      @Nullable SessionLock sessionLock)
      throws SQLException {
    return create(dataSource, dialect, name, heartbeat, sessionLock, new KeyHolds());
  }

  /**
   * As above, loading and dropping the key holds of the partitions it claims and loses in {@code
   * gate}.
   */
  static LeaseManager create(
      DataSource dataSource,
      OutboxDialect dialect,
      String name,
      Duration heartbeat,
      @Nullable SessionLock sessionLock,
      KeyHolds gate)
      throws SQLException {
    return create(
        dataSource,
        dialect,
        name,
        heartbeat,
        sessionLock,
        gate,
        new RelayMetrics(new SimpleMeterRegistry(), "outbox_event"));
  }

  /** As above, recording into {@code metrics}. */
  static LeaseManager create(
      DataSource dataSource,
      OutboxDialect dialect,
      String name,
      Duration heartbeat,
      @Nullable SessionLock sessionLock,
      KeyHolds gate,
      RelayMetrics metrics)
      throws SQLException {
    LeaseManager m =
        new LeaseManager(
            new Jdbc(dataSource),
            new LeaseStore(
                dialect,
                OutboxTable.of(RelayDefaults.LEASE_TABLE),
                OutboxTable.of(RelayDefaults.MEMBER_TABLE)),
            new OutboxRows(dialect, OutboxTable.DEFAULT),
            gate,
            metrics,
            name,
            16,
            Duration.ofSeconds(30),
            heartbeat,
            Duration.ofSeconds(1),
            sessionLock);
    m.init();
    return m;
  }
}
