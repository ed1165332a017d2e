package dev.outboxkit.test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/** In-memory H2 databases; each one lives until it is dropped. */
final class H2TestServer implements DatabaseServer {

  @Override
  public DatabaseKind kind() {
    return DatabaseKind.H2;
  }

  @Override
  public String description() {
    return "in-memory H2";
  }

  @Override
  public TestDatabase createDatabase(String name) {
    JdbcDatabaseServer.requireValidName(name);
    TestDatabase database = new TestDatabase(this, name, url(name), "sa", "");
    try (Connection ignored = database.openConnection()) {
      return database; // DB_CLOSE_DELAY=-1 keeps it alive after this connection closes
    } catch (SQLException e) {
      throw new IllegalStateException("Could not create H2 database " + name, e);
    }
  }

  @Override
  public void dropDatabase(String name) {
    try (Connection connection = DriverManager.getConnection(url(name), "sa", "");
        Statement statement = connection.createStatement()) {
      statement.execute("SHUTDOWN");
    } catch (SQLException e) {
      throw new IllegalStateException("Could not drop H2 database " + name, e);
    }
  }

  private static String url(String name) {
    return "jdbc:h2:mem:" + name + ";DB_CLOSE_DELAY=-1";
  }
}
