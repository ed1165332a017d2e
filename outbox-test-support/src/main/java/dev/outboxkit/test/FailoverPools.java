package dev.outboxkit.test;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.time.Duration;

/**
 * HikariCP pools configured the way docs/production-checklist.md ("Database failover") tells users
 * to configure theirs, so that a database that dies or fails over gives callers an error within
 * seconds instead of a hang: a bounded wait for a pooled connection, and connect and socket
 * timeouts in the JDBC driver.
 *
 * <table>
 *   <caption>Settings</caption>
 *   <tr><th>Setting</th><th>Value here</th><th>Why</th></tr>
 *   <tr><td>Hikari {@code connectionTimeout}</td><td>2 s (default 30 s)</td>
 *       <td>how long {@code getConnection()} waits while the database refuses connections</td></tr>
 *   <tr><td>Hikari {@code validationTimeout}</td><td>1 s</td>
 *       <td>the liveness check of an idle connection before it is handed out</td></tr>
 *   <tr><td>driver connect timeout</td><td>2 s</td>
 *       <td>a TCP connect to a host that no longer answers (no RST) fails instead of hanging</td></tr>
 *   <tr><td>driver socket timeout</td><td>10 s</td>
 *       <td>a statement on a connection whose server vanished without a reset fails; must exceed
 *       the longest legitimate statement</td></tr>
 * </table>
 */
public final class FailoverPools {

  /** Hikari's wait for a connection. */
  public static final Duration CONNECTION_TIMEOUT = Duration.ofSeconds(2);

  /** The drivers' TCP connect timeout. */
  public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);

  /** The drivers' socket (read) timeout. */
  public static final Duration SOCKET_TIMEOUT = Duration.ofSeconds(10);

  private FailoverPools() {}

  /**
   * A pool on {@code database} with the settings above; the caller closes it.
   *
   * @param database the database
   * @param name the pool name (thread names, logs)
   * @param size the fixed pool size
   */
  public static HikariDataSource create(TestDatabase database, String name, int size) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(withTimeouts(database.jdbcUrl(), database.kind()));
    config.setUsername(database.username());
    config.setPassword(database.password());
    config.setPoolName(name);
    config.setMaximumPoolSize(size);
    config.setMinimumIdle(size);
    config.setConnectionTimeout(CONNECTION_TIMEOUT.toMillis());
    config.setValidationTimeout(Duration.ofSeconds(1).toMillis());
    return new HikariDataSource(config);
  }

  /** The URL with the driver's connect and socket timeouts added. */
  public static String withTimeouts(String url, DatabaseKind kind) {
    String params =
        switch (kind) {
          // pgjdbc takes seconds
          case POSTGRESQL ->
              "connectTimeout="
                  + CONNECT_TIMEOUT.toSeconds()
                  + "&socketTimeout="
                  + SOCKET_TIMEOUT.toSeconds()
                  + "&tcpKeepAlive=true";
          // MySQL Connector/J and MariaDB Connector/J take milliseconds
          case MYSQL, MARIADB ->
              "connectTimeout="
                  + CONNECT_TIMEOUT.toMillis()
                  + "&socketTimeout="
                  + SOCKET_TIMEOUT.toMillis()
                  + "&tcpKeepAlive=true";
          case H2 -> throw new IllegalArgumentException("H2 has no network timeouts");
        };
    return url + (url.contains("?") ? "&" : "?") + params;
  }
}
