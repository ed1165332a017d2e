package dev.outboxkit.relay.cdc;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;

/**
 * Checks, before the engine starts, what Debezium would otherwise report late or not at all: the
 * server's change log settings, the user's replication grants and the PostgreSQL publication. Each
 * failure names the setting or grant and the statement that fixes it.
 */
final class CdcPreflight {

  private CdcPreflight() {}

  static void check(
      Connection c, OutboxDialect dialect, CdcOptions options, OutboxTable outbox, String user)
      throws SQLException {
    switch (dialect.name()) {
      case "postgresql" -> postgres(c, options, outbox, user);
      case "mysql", "mariadb" -> binlog(c, user);
      default ->
          throw new IllegalStateException(
              "outbox.relay.mode=cdc needs PostgreSQL, MySQL or MariaDB; this database is "
                  + dialect.name()
                  + ". Use outbox.relay.mode=polling.");
    }
  }

  private static void postgres(Connection c, CdcOptions options, OutboxTable outbox, String user)
      throws SQLException {
    String walLevel = single(c, "SHOW wal_level");
    if (!"logical".equals(walLevel)) {
      throw new IllegalStateException(
          "PostgreSQL wal_level is '"
              + walLevel
              + "' but CDC needs 'logical'. Run ALTER SYSTEM SET wal_level = logical and restart"
              + " the server (on RDS/Aurora: rds.logical_replication = 1 in the parameter group),"
              + " or use outbox.relay.mode=polling.");
    }
    try (PreparedStatement s =
        c.prepareStatement("SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = ?")) {
      s.setString(1, user);
      try (ResultSet rs = s.executeQuery()) {
        if (!rs.next() || !rs.getBoolean(1)) {
          throw new IllegalStateException(
              "PostgreSQL user '"
                  + user
                  + "' lacks the REPLICATION attribute that logical decoding needs. Run ALTER ROLE "
                  + user
                  + " WITH REPLICATION (on RDS/Aurora: GRANT rds_replication TO "
                  + user
                  + ").");
        }
      }
    }
    String schema = outbox.schema() == null ? "public" : outbox.schema();
    boolean exists;
    try (PreparedStatement s =
        c.prepareStatement("SELECT puballtables FROM pg_publication WHERE pubname = ?")) {
      s.setString(1, options.publication());
      try (ResultSet rs = s.executeQuery()) {
        exists = rs.next();
      }
    }
    String create =
        "CREATE PUBLICATION "
            + options.publication()
            + " FOR TABLE "
            + schema
            + "."
            + outbox.name();
    if (!exists) {
      if (!options.autoCreate()) {
        throw new IllegalStateException(
            "PostgreSQL publication '"
                + options.publication()
                + "' does not exist. Run "
                + create
                + " as the table's owner, or set outbox.relay.cdc.auto-create=true.");
      }
      try (Statement s = c.createStatement()) {
        s.execute(create);
      } catch (SQLException e) {
        throw new IllegalStateException(
            "Could not create the publication ("
                + e.getMessage()
                + "). Run "
                + create
                + " as the owner of "
                + outbox
                + ".",
            e);
      }
      return;
    }
    try (PreparedStatement s =
        c.prepareStatement(
            "SELECT 1 FROM pg_publication_tables WHERE pubname = ? AND schemaname = ? AND"
                + " tablename = ?")) {
      s.setString(1, options.publication());
      s.setString(2, schema);
      s.setString(3, outbox.name());
      try (ResultSet rs = s.executeQuery()) {
        if (!rs.next()) {
          throw new IllegalStateException(
              "PostgreSQL publication '"
                  + options.publication()
                  + "' does not include "
                  + schema
                  + "."
                  + outbox.name()
                  + ". Run ALTER PUBLICATION "
                  + options.publication()
                  + " ADD TABLE "
                  + schema
                  + "."
                  + outbox.name()
                  + ".");
        }
      }
    }
  }

  private static void binlog(Connection c, String user) throws SQLException {
    String logBin;
    String format;
    String image;
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT @@log_bin, @@binlog_format, @@binlog_row_image")) {
      rs.next();
      logBin = rs.getString(1);
      format = rs.getString(2);
      image = rs.getString(3);
    }
    if (!("1".equals(logBin) || "ON".equalsIgnoreCase(logBin))) {
      throw new IllegalStateException(
          "The binary log is off (log_bin). CDC needs it: start the server with --log-bin"
              + " --binlog-format=ROW --binlog-row-image=FULL and a unique --server-id, or use"
              + " outbox.relay.mode=polling.");
    }
    if (!"ROW".equalsIgnoreCase(format)) {
      throw new IllegalStateException(
          "binlog_format is "
              + format
              + " but CDC needs ROW. Run SET GLOBAL binlog_format = 'ROW' (and in the server's"
              + " configuration).");
    }
    if (image != null && !"FULL".equalsIgnoreCase(image)) {
      throw new IllegalStateException(
          "binlog_row_image is "
              + image
              + " but CDC needs FULL. Run SET GLOBAL binlog_row_image = 'FULL' (and in the"
              + " server's configuration).");
    }
    StringBuilder grants = new StringBuilder();
    try {
      appendGrants(c, "SHOW GRANTS FOR CURRENT_USER()", grants);
    } catch (SQLException e) {
      if (e.getErrorCode() == 1290) {
        return; // --skip-grant-tables: every user may do everything
      }
      throw e;
    }
    appendRoleGrants(c, grants);
    String g = grants.toString();
    boolean all = g.contains("GRANT ALL PRIVILEGES ON *.*");
    boolean replica = all || g.contains("REPLICATION SLAVE") || g.contains("REPLICATION REPLICA");
    boolean client =
        all
            || g.contains("REPLICATION CLIENT")
            || g.contains("BINLOG MONITOR")
            || g.contains("SUPER");
    if (!replica || !client) {
      throw new IllegalStateException(
          "User '"
              + user
              + "' lacks "
              + (!replica ? "REPLICATION SLAVE" : "")
              + (!replica && !client ? " and " : "")
              + (!client ? "REPLICATION CLIENT" : "")
              + ", which reading the binlog needs. Run GRANT REPLICATION SLAVE, REPLICATION CLIENT"
              + " ON *.* TO '"
              + user
              + "'.");
    }
  }

  /**
   * Adds the privileges of the user's active roles (such as the shipped {@code outboxkit_cdc}):
   * {@code SHOW GRANTS FOR CURRENT_USER()} names a granted role but not what it grants. MySQL 8
   * expands roles with {@code USING} ({@code CURRENT_ROLE()} lists {@code `role`@`host`}); MariaDB
   * shows an active role's grants with {@code SHOW GRANTS FOR role}.
   */
  private static void appendRoleGrants(Connection c, StringBuilder grants) throws SQLException {
    String roles;
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT CURRENT_ROLE()")) {
      rs.next();
      roles = rs.getString(1);
    }
    if (roles == null || roles.isBlank() || "NONE".equalsIgnoreCase(roles)) {
      return;
    }
    if (roles.contains("@")) {
      appendGrants(c, "SHOW GRANTS FOR CURRENT_USER() USING " + roles, grants);
    } else {
      appendGrants(c, "SHOW GRANTS FOR `" + roles.replace("`", "``") + "`", grants);
    }
  }

  private static void appendGrants(Connection c, String sql, StringBuilder grants)
      throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        grants.append(rs.getString(1).toUpperCase(Locale.ROOT)).append('\n');
      }
    }
  }

  private static String single(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }
}
