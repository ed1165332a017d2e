package dev.outboxkit.outbox;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * MariaDB Connector/J and MySQL Connector/J each talk to both servers. The dialect follows the
 * server actually reached (its metadata: product name and version), never the URL's driver prefix:
 * a {@code jdbc:mariadb:} URL to MySQL gets the MySQL dialect, a {@code jdbc:mysql:} URL to MariaDB
 * the MariaDB dialect, and an event appended that way is stored.
 */
@ServerTest
class CrossDriverDialectIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension mysql = TestDatabaseExtension.mysql();
  @RegisterExtension static final TestDatabaseExtension mariadb = TestDatabaseExtension.mariadb();

  @Test
  void mariadbDriverOnMySqlGetsTheMySqlDialect() throws SQLException {
    TestDatabase database = mysql.database();
    String url = database.jdbcUrl().replaceFirst("^jdbc:mysql:", "jdbc:mariadb:");
    assertThat(url).startsWith("jdbc:mariadb:");
    assertAppendsWithDialect(database, url, "mysql");
  }

  @Test
  void mysqlDriverOnMariaDbGetsTheMariaDbDialect() throws SQLException {
    TestDatabase database = mariadb.database();
    String url = database.jdbcUrl().replaceFirst("^jdbc:mariadb:", "jdbc:mysql:");
    assertThat(url).startsWith("jdbc:mysql:");
    assertAppendsWithDialect(database, url, "mariadb");
  }

  private static void assertAppendsWithDialect(TestDatabase database, String url, String expected)
      throws SQLException {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setUsername(database.username());
    config.setPassword(database.password());
    config.setMaximumPoolSize(2);
    try (HikariDataSource dataSource = new HikariDataSource(config)) {
      OutboxDialect dialect;
      try (Connection connection = dataSource.getConnection()) {
        dialect = OutboxDialect.detect(connection);
        assertThat(dialect.name()).isEqualTo(expected);
        OutboxSchema.create(connection, dialect, OutboxTable.DEFAULT);
        OutboxSchema.verify(connection, dialect, OutboxTable.DEFAULT);
      }
      JdbcTransactions tx = JdbcTransactions.of(dataSource);
      Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
      tx.inTransaction(
          c -> outbox.append("Payment", "pay-cross-1", "PaymentAuthorized", new byte[] {1, 2, 3}));
      try (Connection connection = dataSource.getConnection();
          Statement statement = connection.createStatement();
          ResultSet rs =
              statement.executeQuery(
                  "SELECT count(*) FROM outbox_event WHERE aggregateid = 'pay-cross-1'")) {
        rs.next();
        assertThat(rs.getInt(1)).isOne();
      }
    }
  }
}
