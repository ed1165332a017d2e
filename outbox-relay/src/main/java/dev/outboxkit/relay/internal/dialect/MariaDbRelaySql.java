package dev.outboxkit.relay.internal.dialect;

import dev.outboxkit.outbox.OutboxTable;

/**
 * The relay's tables on MariaDB: those of MySQL, but MariaDB has {@code ADD COLUMN IF NOT EXISTS}
 * and {@code CREATE INDEX IF NOT EXISTS}.
 */
final class MariaDbRelaySql extends MySqlRelaySql {

  static final String NAME = "mariadb";

  @Override
  public boolean addColumnIsIdempotent() {
    return true;
  }

  @Override
  public String createPendingSeqIndex(OutboxTable outbox) {
    return "CREATE INDEX IF NOT EXISTS %s_pending_seq_idx ON %s (status, seq)"
        .formatted(outbox.name(), outbox.qualifiedName());
  }

  @Override
  public boolean indexIsIdempotent() {
    return true;
  }
}
