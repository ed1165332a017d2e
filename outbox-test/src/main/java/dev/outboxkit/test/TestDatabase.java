package dev.outboxkit.test;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * One database on a {@link DatabaseServer}, for the exclusive use of one test class.
 *
 * <p>{@link #dataSource()} is a small connection pool created on first use. {@link #close()} closes
 * the pool and drops the database.
 */
public final class TestDatabase implements AutoCloseable {

  private final DatabaseServer server;
  private final String name;
  private final String jdbcUrl;
  private final String username;
  private final String password;
  private @Nullable HikariDataSource dataSource;

  TestDatabase(
      DatabaseServer server, String name, String jdbcUrl, String username, String password) {
    this.server = server;
    this.name = name;
    this.jdbcUrl = jdbcUrl;
    this.username = username;
    this.password = password;
  }

  /** The product of the server that holds this database. */
  public DatabaseKind kind() {
    return server.kind();
  }

  /** The server that holds this database. */
  public DatabaseServer server() {
    return server;
  }

  /** The database name. */
  public String name() {
    return name;
  }

  /** A JDBC URL that connects to this database. */
  public String jdbcUrl() {
    return jdbcUrl;
  }

  /** The user name for {@link #jdbcUrl()}. */
  public String username() {
    return username;
  }

  /** The password for {@link #jdbcUrl()}. */
  public String password() {
    return password;
  }

  /** A pooled data source on this database (at most 10 connections), created on first call. */
  public synchronized DataSource dataSource() {
    if (dataSource == null) {
      HikariConfig config = new HikariConfig();
      config.setJdbcUrl(jdbcUrl);
      config.setUsername(username);
      config.setPassword(password);
      config.setMaximumPoolSize(10);
      config.setMinimumIdle(0);
      config.setPoolName("test-" + name);
      dataSource = new HikariDataSource(config);
    }
    return dataSource;
  }

  /** Opens a new unpooled connection; the caller closes it. */
  public Connection openConnection() throws SQLException {
    return DriverManager.getConnection(jdbcUrl, username, password);
  }

  /** Closes the pool and drops the database. */
  @Override
  public synchronized void close() {
    if (dataSource != null) {
      dataSource.close();
      dataSource = null;
    }
    server.dropDatabase(name);
  }

  @Override
  public String toString() {
    return name + " on " + server.description();
  }
}
