package dev.outboxkit.relay;

import java.net.URI;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Login users on MySQL or MariaDB with part of what binlog CDC needs, for the tests of the CDC
 * checks: each may read the outbox's database (its connection must open, and the snapshot reads it)
 * and holds the grants a test names.
 */
final class BinlogUsers {

  private BinlogUsers() {}

  /**
   * Creates {@code 'user'@'%'} anew with {@code password}, SELECT on the database of {@code
   * jdbcUrl}, and {@code grant} (privileges with their {@code ON} clause).
   */
  static void createReadingUser(
      Statement admin, String jdbcUrl, String user, String password, String grant)
      throws SQLException {
    String account = "'" + user + "'@'%'";
    String database = URI.create(jdbcUrl.substring("jdbc:".length())).getPath().substring(1);
    admin.execute("DROP USER IF EXISTS " + account);
    admin.execute("CREATE USER " + account + " IDENTIFIED BY '" + password + "'");
    admin.execute("GRANT SELECT ON `" + database + "`.* TO " + account);
    admin.execute("GRANT " + grant + " TO " + account);
  }
}
