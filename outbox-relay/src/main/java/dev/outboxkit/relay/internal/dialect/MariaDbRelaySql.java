package dev.outboxkit.relay.internal.dialect;

/**
 * The relay's tables on MariaDB: those of MySQL, but MariaDB has {@code ADD COLUMN IF NOT EXISTS}.
 */
final class MariaDbRelaySql extends MySqlRelaySql {

  static final String NAME = "mariadb";

  @Override
  public boolean addColumnIsIdempotent() {
    return true;
  }
}
