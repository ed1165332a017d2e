package dev.outboxkit.test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.regex.Pattern;

/**
 * A database server reached over JDBC with an administrative account, whatever started it. Creating
 * and dropping databases is plain SQL, so embedded, process, container and external servers all
 * share this class.
 */
final class JdbcDatabaseServer implements DatabaseServer {

  private static final Pattern DATABASE_NAME = Pattern.compile("[a-z][a-z0-9_]{0,62}");

  private final DatabaseKind kind;
  private final String description;
  private final String adminUrl;
  private final String username;
  private final String password;

  JdbcDatabaseServer(
      DatabaseKind kind, String description, String adminUrl, String username, String password) {
    this.kind = kind;
    this.description = description;
    this.adminUrl = adminUrl;
    this.username = username;
    this.password = password;
  }

  String adminUrl() {
    return adminUrl;
  }

  String username() {
    return username;
  }

  @Override
  public DatabaseKind kind() {
    return kind;
  }

  @Override
  public String description() {
    return description;
  }

  @Override
  public TestDatabase createDatabase(String name) {
    requireValidName(name);
    execute(
        switch (kind) {
          case POSTGRESQL -> "CREATE DATABASE " + name;
          case MARIADB, MYSQL -> "CREATE DATABASE " + name + " CHARACTER SET utf8mb4";
          case H2 -> throw new IllegalStateException("H2 databases are created by H2TestServer");
        });
    return new TestDatabase(this, name, JdbcUrls.withDatabase(adminUrl, name), username, password);
  }

  @Override
  public void dropDatabase(String name) {
    requireValidName(name);
    execute(
        switch (kind) {
          case POSTGRESQL -> "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)";
          case MARIADB, MYSQL -> "DROP DATABASE IF EXISTS " + name;
          case H2 -> throw new IllegalStateException("H2 databases are dropped by H2TestServer");
        });
  }

  private void execute(String sql) {
    try (Connection connection = DriverManager.getConnection(adminUrl, username, password);
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(
          "Could not run '" + sql + "' on " + description + ": " + e.getMessage(), e);
    }
  }

  static void requireValidName(String name) {
    if (!DATABASE_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "Database name '" + name + "' must match " + DATABASE_NAME.pattern());
    }
  }

  @Override
  public String toString() {
    return description;
  }
}
