package dev.outboxkit.chaos;

import dev.outboxkit.test.DatabaseKind;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The database drops every connection to the run's database at once, as a failover, a proxy restart
 * or an operator would: {@code pg_terminate_backend} on PostgreSQL (client backends and the CDC
 * walsender), {@code KILL} on MySQL and MariaDB (the account's connections to the database and its
 * binlog dump). Writers, relays, session locks and CDC streams all lose their connection.
 */
final class KillConnectionsFault implements Fault {

  private static final String POSTGRES =
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
          + " WHERE datname = current_database() AND pid <> pg_backend_pid()"
          + " AND backend_type IN ('client backend', 'walsender')";
  private static final String MYSQL_FAMILY =
      "SELECT id FROM information_schema.processlist"
          + " WHERE id <> CONNECTION_ID() AND user = SUBSTRING_INDEX(CURRENT_USER(), '@', 1)"
          + " AND (db = DATABASE() OR command LIKE 'Binlog Dump%')";

  @Override
  public String name() {
    return "kill-connections";
  }

  @Override
  public @Nullable String unavailableReason(FaultContext context) {
    return null;
  }

  @Override
  public FaultRecord inject(FaultContext context) {
    long start = context.clock().millis();
    int killed;
    try (Connection c = context.environment().admin().getConnection();
        Statement s = c.createStatement()) {
      killed =
          context.environment().kind() == DatabaseKind.POSTGRESQL
              ? terminatePostgres(s)
              : killMySqlFamily(s);
    } catch (SQLException e) {
      throw new IllegalStateException("Could not kill the database's connections", e);
    }
    return new FaultRecord(
        name(),
        killed + " connections",
        start,
        context.clock().millis(),
        FaultRecord.Measure.RECOVERY,
        context.allPartitions().get(),
        context.config().relays());
  }

  private static int terminatePostgres(Statement s) throws SQLException {
    int killed = 0;
    try (ResultSet rs = s.executeQuery(POSTGRES)) {
      while (rs.next()) {
        killed += rs.getBoolean(1) ? 1 : 0;
      }
    }
    return killed;
  }

  private static int killMySqlFamily(Statement s) throws SQLException {
    List<Long> ids = new ArrayList<>();
    try (ResultSet rs = s.executeQuery(MYSQL_FAMILY)) {
      while (rs.next()) {
        ids.add(rs.getLong(1));
      }
    }
    int killed = 0;
    for (long id : ids) {
      try {
        s.execute("KILL " + id);
        killed++;
      } catch (SQLException e) {
        // Gone between the look-up and the KILL ("Unknown thread id"): nothing to kill.
      }
    }
    return killed;
  }
}
