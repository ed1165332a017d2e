package dev.outboxkit.relay.internal.dialect;

import dev.outboxkit.outbox.OutboxTable;
import java.util.List;

/** The relay's tables on H2 (development and tests). */
final class H2RelaySql extends RelaySql {

  static final String NAME = "h2";

  @Override
  public List<String> createStatements(
      OutboxTable outbox, OutboxTable leases, OutboxTable members) {
    return List.of(
        """
        CREATE TABLE IF NOT EXISTS %s (
            partition_no INTEGER      NOT NULL PRIMARY KEY,
            owner_id     VARCHAR(255),
            epoch        BIGINT       DEFAULT 0 NOT NULL,
            expires_at   TIMESTAMP(6) WITH TIME ZONE
        )\
        """
            .formatted(leases.qualifiedName()),
        """
        CREATE TABLE IF NOT EXISTS %s (
            member_id    VARCHAR(255) NOT NULL PRIMARY KEY,
            heartbeat_at TIMESTAMP(6) WITH TIME ZONE NOT NULL,
            expires_at   TIMESTAMP(6) WITH TIME ZONE NOT NULL
        )\
        """
            .formatted(members.qualifiedName()));
  }

  /** H2 wants the default before {@code NOT NULL}. */
  @Override
  public String notNullWithDefault(String type, String defaultValue) {
    return type + " DEFAULT " + defaultValue + " NOT NULL";
  }
}
