package dev.outboxkit.relay.internal.polling;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.dialect.RelaySql;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the publishing threads' reads may start at a floor ({@code ReadFloor}): asked of the
 * catalog at start and again at every housekeeping measurement, since the trigger that the floor's
 * proof needs can be dropped or disabled while the relay runs. Says why at INFO when the answer
 * changes (and at start when there is no floor). Thread-safe: the housekeeping thread writes, the
 * publishing threads read.
 */
final class ReadFloorCheck implements BooleanSupplier {

  private static final Logger log = LoggerFactory.getLogger(PollingRelay.class);

  private final Jdbc jdbc;
  private final RelaySql sql;
  private final OutboxTable outbox;
  private final AtomicBoolean enabled = new AtomicBoolean();
  private volatile boolean checked;

  ReadFloorCheck(Jdbc jdbc, RelaySql sql, OutboxTable outbox) {
    this.jdbc = jdbc;
    this.sql = sql;
    this.outbox = outbox;
  }

  @Override
  public boolean getAsBoolean() {
    return enabled.get();
  }

  /**
   * Asks the catalog; a failure to ask turns the floor off (the next check asks again).
   *
   * <p>Where the database has no floor at all, nothing is asked or logged.
   */
  void check() {
    if (!sql.readsFromFloor()) {
      return;
    }
    @Nullable String unavailable;
    try {
      unavailable = jdbc.autoCommit(c -> sql.readFloorUnavailable(c, outbox));
    } catch (SQLException | RuntimeException e) {
      unavailable = "its catalog could not be read (" + e.getClass().getSimpleName() + ")";
    }
    boolean now = unavailable == null;
    boolean before = enabled.getAndSet(now);
    if (!checked || before != now) {
      if (now) {
        log.info(
            "Outbox relay: reads of {} start at a read floor (trigger {}_assign_xid present)",
            outbox,
            outbox.name());
      } else {
        log.info(
            "Outbox relay: reads of {} start at the head of the pending index, without a read"
                + " floor: {}",
            outbox,
            unavailable);
      }
    }
    checked = true;
  }
}
