package dev.outboxkit.relay.internal.cdc;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MySQL/MariaDB part of {@link CdcPreflight}, run over the CDC user's own connection: the
 * binlog's global settings (what new writer sessions get), GTID mode, how long the server keeps
 * binlogs (on RDS/Aurora: {@code binlog retention hours}), and the CDC user's grants including
 * those of its active roles. Each refusal names the setting and the statement that fixes it; every
 * wrong one is named at once.
 */
final class BinlogPreflight {

  private static final Logger log = LoggerFactory.getLogger(BinlogPreflight.class);

  /**
   * The shortest binlog retention accepted: a relay stopped for longer than the retention finds its
   * position purged and cannot go on without a new snapshot. A day covers a weekend's incident only
   * with a fast response; the fix messages suggest seven.
   */
  static final Duration MIN_RETENTION = Duration.ofHours(24);

  private static final Pattern GRANT = Pattern.compile("^GRANT (.+?) ON (\\S+) TO ");

  private BinlogPreflight() {}

  /**
   * Runs every check and refuses with all the settings and grants that are wrong, each naming its
   * fix, in one message (a binary log that is off is refused alone: nothing else matters then).
   *
   * @param mysql whether the server is MySQL proper ({@code SET PERSIST}, GTID modes), not MariaDB
   */
  static void check(Connection c, boolean mysql, String user) throws SQLException {
    String logBin;
    String format;
    String image;
    try (Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT @@GLOBAL.log_bin, @@GLOBAL.binlog_format, @@GLOBAL.binlog_row_image")) {
      rs.next();
      logBin = rs.getString(1);
      format = rs.getString(2);
      image = rs.getString(3);
    }
    String persist = mysql ? "SET PERSIST" : "SET GLOBAL";
    String config =
        mysql
            ? " (on RDS/Aurora: in the DB parameter group)"
            : " and in the server's configuration (on RDS: in the DB parameter group)";
    if (!("1".equals(logBin) || "ON".equalsIgnoreCase(logBin))) {
      throw new IllegalStateException(
          "The binary log is off (log_bin). CDC needs it: start the server with --log-bin"
              + " --binlog-format=ROW --binlog-row-image=FULL and a unique --server-id (on"
              + " RDS/Aurora: enable automated backups, binlog_format=ROW in the parameter"
              + " group), or use outbox.relay.mode=polling.");
    }
    List<String> problems = new ArrayList<>();
    if (!"ROW".equalsIgnoreCase(format)) {
      problems.add(
          "binlog_format is "
              + format
              + " (global value) but CDC needs ROW. Run "
              + persist
              + " binlog_format = 'ROW'"
              + config
              + "; sessions opened before keep their own value until they reconnect.");
    }
    if (image != null && !"FULL".equalsIgnoreCase(image)) {
      problems.add(
          "binlog_row_image is "
              + image
              + " (global value) but CDC needs FULL: with "
              + image
              + " the binlog lacks the columns of an event. Run "
              + persist
              + " binlog_row_image = 'FULL'"
              + config
              + "; sessions opened before keep their own value until they reconnect.");
    }
    if (mysql) {
      gtidMode(c, persist, problems);
    }
    boolean rds = retention(c, mysql, persist, problems);
    grants(c, user, rds, problems);
    if (problems.size() == 1) {
      throw new IllegalStateException(problems.get(0));
    }
    if (!problems.isEmpty()) {
      // All at once: an operator who fixes one setting and redeploys should not meet the next.
      StringBuilder all =
          new StringBuilder(problems.size() + " change log prerequisites are not met:");
      for (int i = 0; i < problems.size(); i++) {
        all.append(" (").append(i + 1).append(") ").append(problems.get(i));
      }
      throw new IllegalStateException(all.toString());
    }
  }

  /**
   * The transitional GTID modes mix anonymous and GTID transactions in one binlog; the connector's
   * position is then neither a file offset one can trust across a failover nor a GTID set.
   */
  private static void gtidMode(Connection c, String persist, List<String> problems)
      throws SQLException {
    String mode = single(c, "SELECT @@GLOBAL.gtid_mode");
    if (mode != null && mode.toUpperCase(Locale.ROOT).endsWith("_PERMISSIVE")) {
      problems.add(
          "gtid_mode is "
              + mode
              + ", a transitional mode, but CDC needs ON (recommended: after a failover the"
              + " connector resumes on the new primary by GTID) or OFF. Finish the change: "
              + persist
              + " gtid_mode = 'ON' once enforce_gtid_consistency = ON and no anonymous"
              + " transactions remain (or back to OFF).");
    }
  }

  /**
   * Adds a problem when the binlog retention is shorter than {@link #MIN_RETENTION}.
   *
   * @return whether the server is RDS/Aurora (its {@code mysql.rds_configuration} is readable)
   */
  private static boolean retention(
      Connection c, boolean mysql, String persist, List<String> problems) throws SQLException {
    String rdsHours;
    boolean rds;
    try (Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT value FROM mysql.rds_configuration WHERE name = 'binlog retention"
                    + " hours'")) {
      rds = true;
      rdsHours = rs.next() ? rs.getString(1) : null;
    } catch (SQLException e) {
      // No such table (not RDS) or no right to read it: then judge by the server's own setting.
      rds = false;
      rdsHours = null;
      String basedir = single(c, "SELECT @@GLOBAL.basedir");
      if (basedir != null && basedir.startsWith("/rdsdbbin")) {
        log.warn(
            "CDC preflight: this looks like RDS but mysql.rds_configuration is not readable ({});"
                + " check 'binlog retention hours' (CALL mysql.rds_show_configuration) is at least"
                + " {} hours",
            e.getMessage(),
            MIN_RETENTION.toHours());
      }
    }
    if (rds) {
      long hours = parse(rdsHours);
      if (hours < MIN_RETENTION.toHours()) {
        problems.add(
            "RDS/Aurora keeps binlogs for "
                + (rdsHours == null ? "no time at all ('binlog retention hours' is NULL)" : hours)
                + (rdsHours == null ? "" : " hours ('binlog retention hours')")
                + " but CDC needs at least "
                + MIN_RETENTION.toHours()
                + " hours, or a relay stopped for longer loses its position. Run CALL"
                + " mysql.rds_set_configuration('binlog retention hours', 168).");
      }
      return true;
    }
    long seconds;
    long days = 0;
    try {
      seconds = parse(single(c, "SELECT @@GLOBAL.binlog_expire_logs_seconds"));
    } catch (SQLException e) {
      seconds = 0; // MariaDB before 10.6: expire_logs_days only
    }
    if (seconds == 0) {
      days = parse(single(c, "SELECT @@GLOBAL.expire_logs_days"));
      seconds = Duration.ofDays(days).toSeconds();
    }
    if (seconds > 0 && seconds < MIN_RETENTION.toSeconds()) {
      problems.add(
          "The server purges binlogs after "
              + seconds
              + " seconds ("
              + (days > 0 ? "expire_logs_days" : "binlog_expire_logs_seconds")
              + ") but CDC needs at least "
              + MIN_RETENTION.toSeconds()
              + " seconds, or a relay stopped for longer loses its position. Run "
              + persist
              + " binlog_expire_logs_seconds = 604800"
              + (mysql ? "" : " and in the server's configuration")
              + ".");
    }
    return false;
  }

  private static void grants(Connection c, String user, boolean rds, List<String> problems)
      throws SQLException {
    Set<String> global = new HashSet<>();
    Set<String> any = new HashSet<>();
    try {
      collectGrants(c, "SHOW GRANTS FOR CURRENT_USER()", global, any);
    } catch (SQLException e) {
      if (e.getErrorCode() == 1290) {
        return; // --skip-grant-tables: every user may do everything
      }
      throw e;
    }
    collectRoleGrants(c, global, any);
    boolean all = global.contains("ALL PRIVILEGES") || global.contains("ALL");
    StringBuilder missing = new StringBuilder();
    if (!all && !global.contains("REPLICATION SLAVE") && !global.contains("REPLICATION REPLICA")) {
      missing.append(", REPLICATION SLAVE");
    }
    if (!all
        && !global.contains("REPLICATION CLIENT")
        && !global.contains("BINLOG MONITOR")
        && !global.contains("SUPER")) {
      missing.append(", REPLICATION CLIENT");
    }
    if (!all && !global.contains("RELOAD")) {
      missing.append(", RELOAD");
    }
    if (missing.length() > 0) {
      problems.add(
          "User '"
              + user
              + "' lacks "
              + missing.substring(2)
              + " ON *.*: reading the binlog needs REPLICATION SLAVE and REPLICATION CLIENT, and"
              + " the first start's snapshot takes a short global read lock (FLUSH TABLES WITH"
              + " READ LOCK), which needs RELOAD. Run GRANT REPLICATION SLAVE, REPLICATION"
              + " CLIENT, RELOAD ON *.* TO '"
              + user
              + "' (or grant the role outboxkit_cdc of outboxkit-roles-cdc.sql).");
    }
    if (rds && !all && !any.contains("LOCK TABLES")) {
      problems.add(
          "User '"
              + user
              + "' lacks LOCK TABLES: RDS/Aurora refuse the global read lock, so the first"
              + " start's snapshot locks the outbox table instead. Run GRANT LOCK TABLES ON"
              + " <database>.* TO '"
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
  private static void collectRoleGrants(Connection c, Set<String> global, Set<String> any)
      throws SQLException {
    String roles = single(c, "SELECT CURRENT_ROLE()");
    if (roles == null || roles.isBlank() || "NONE".equalsIgnoreCase(roles)) {
      return;
    }
    if (roles.contains("@")) {
      collectGrants(c, "SHOW GRANTS FOR CURRENT_USER() USING " + roles, global, any);
    } else {
      collectGrants(c, "SHOW GRANTS FOR `" + roles.replace("`", "``") + "`", global, any);
    }
  }

  /**
   * Reads the privilege lists of {@code GRANT <privileges> ON <scope> TO ...} lines, one name per
   * entry (so MariaDB's {@code REPLICATION SLAVE ADMIN} is not taken for {@code REPLICATION
   * SLAVE}); those on {@code *.*} also go to {@code global}.
   */
  private static void collectGrants(Connection c, String sql, Set<String> global, Set<String> any)
      throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        Matcher m = GRANT.matcher(rs.getString(1).toUpperCase(Locale.ROOT));
        if (!m.find()) {
          continue; // a role grant: GRANT `role`@`%` TO ...
        }
        boolean onAll = m.group(2).equals("*.*");
        for (String privilege : m.group(1).split(",")) {
          String p = privilege.trim();
          any.add(p);
          if (onAll) {
            global.add(p);
          }
        }
      }
    }
  }

  private static long parse(@Nullable String value) {
    if (value == null || value.isBlank()) {
      return 0;
    }
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static @Nullable String single(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    }
  }
}
