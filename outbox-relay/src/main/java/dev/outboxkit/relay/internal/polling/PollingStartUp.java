package dev.outboxkit.relay.internal.polling;

import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelaySchema;
import dev.outboxkit.relay.internal.AuditAccess;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.LeaseStore;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.OutboxStats;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.RelaySettings;
import dev.outboxkit.relay.internal.SessionLock;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
import dev.outboxkit.relay.internal.delivery.ManagedBatchSender;
import dev.outboxkit.relay.internal.kafka.KafkaPublishers;
import java.sql.SQLException;

/**
 * The polling relay's checks before anything starts (the outbox, lease and audit tables, the audit
 * grant, and the partitions of pending events), and the lease manager and producers it starts with.
 */
final class PollingStartUp {

  private PollingStartUp() {}

  /**
   * Verifies the tables and that no pending event lies in a partition beyond the configured ones.
   *
   * @return the outbox's rows, for the relay's queries
   * @throws IllegalStateException naming what to change when a check failed
   * @throws SQLException when the database cannot be reached
   */
  static OutboxRows verify(RelaySettings settings, Jdbc jdbc, OutboxDialect dialect)
      throws SQLException {
    jdbc.autoCommit(
        c -> {
          OutboxSchema.verify(c, dialect, settings.table());
          RelaySchema.verify(c, dialect, settings.leaseTable(), settings.memberTable());
          return null;
        });
    AuditAccess.verify(
        jdbc, dialect, settings.table(), "outboxkit_relay", "outboxkit-roles-relay.sql");
    OutboxRows rows = new OutboxRows(dialect, settings.table());
    int highest = jdbc.autoCommit(new OutboxStats(dialect, settings.table())::maxPendingPartition);
    if (highest >= settings.partitions()) {
      // Events of partitions this relay does not know would never be published.
      throw new IllegalStateException(
          "The outbox "
              + settings.table()
              + " has pending events in partition "
              + highest
              + " but this relay is configured with "
              + settings.partitions()
              + " partitions. Writers and relays must use the same number of partitions"
              + " (outbox.store.partitions).");
    }
    return rows;
  }

  /**
   * The lease manager of instance {@code id}: sends start only while the leases stay valid for the
   * send timeout plus half a heartbeat, and with session locks others take over at once when this
   * instance's session is gone.
   */
  static LeaseManager leases(
      RelaySettings settings,
      Jdbc jdbc,
      OutboxDialect dialect,
      OutboxRows rows,
      KeyHolds holds,
      RelayMetrics metrics,
      String id) {
    String owner = SessionLock.ownerName(id);
    return new LeaseManager(
        jdbc,
        new LeaseStore(dialect, settings.leaseTable(), settings.memberTable()),
        rows,
        holds,
        metrics,
        owner,
        settings.partitions(),
        settings.leaseTtl(),
        settings.heartbeatInterval(),
        settings.sendTimeout().plus(settings.heartbeatInterval().dividedBy(2)),
        settings.sessionLocks()
            ? SessionLock.of(settings.sessionDataSource(), dialect, owner)
            : null);
  }

  /**
   * The producer of publishing thread {@code slot} of {@code threads}, not started yet. Only the
   * first checks the dead-letter topic at start: with the broker down each check waits 5 s.
   */
  static ManagedBatchSender publisher(RelaySettings settings, String id, int slot, int threads) {
    String suffix = threads == 1 ? "" : "-" + slot;
    return KafkaPublishers.create(settings, "outboxkit-relay-" + id + suffix, slot == 0);
  }
}
