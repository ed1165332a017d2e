package dev.outboxkit.outbox.internal.dialect;

import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.DatabaseMetaData;
import java.sql.SQLException;
import java.util.List;
import java.util.Locale;

/** The built-in dialects, and how to tell which one a database needs. */
public final class Dialects {

  public static final OutboxDialect POSTGRESQL = new PostgresDialect();
  public static final OutboxDialect MYSQL = new MySqlDialect("mysql");
  public static final OutboxDialect MARIADB = new MySqlDialect("mariadb");
  public static final OutboxDialect H2 = new H2Dialect();

  private static final List<OutboxDialect> ALL = List.of(POSTGRESQL, MYSQL, MARIADB, H2);

  private Dialects() {}

  public static OutboxDialect named(String name) {
    String wanted = name.trim().toLowerCase(Locale.ROOT);
    return ALL.stream()
        .filter(dialect -> dialect.name().equals(wanted))
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "Unknown outbox dialect '"
                        + name
                        + "'; use one of postgresql, mysql, mariadb, h2"));
  }

  public static OutboxDialect detect(DatabaseMetaData metaData) throws SQLException {
    String product = metaData.getDatabaseProductName().toLowerCase(Locale.ROOT);
    String version = metaData.getDatabaseProductVersion().toLowerCase(Locale.ROOT);
    if (product.contains("postgresql")) {
      return POSTGRESQL;
    }
    // The MySQL driver reports MariaDB servers as "MySQL"; the version string tells them apart.
    if (product.contains("mariadb") || version.contains("mariadb")) {
      return MARIADB;
    }
    if (product.contains("mysql")) {
      return MYSQL;
    }
    if (product.equals("h2")) {
      return H2;
    }
    throw new IllegalArgumentException(
        "The outbox does not support "
            + metaData.getDatabaseProductName()
            + " "
            + metaData.getDatabaseProductVersion()
            + "; supported are PostgreSQL, MySQL 8, MariaDB 10.6+ and H2");
  }
}
