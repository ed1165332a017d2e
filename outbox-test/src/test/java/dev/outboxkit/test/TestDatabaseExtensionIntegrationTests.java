package dev.outboxkit.test;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@ServerTest
class TestDatabaseExtensionIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @Test
  void givesEachTestClassItsOwnNamedDatabase(TestDatabase database) throws SQLException {
    assertThat(database.name()).startsWith("t_testdatabaseextensionintegrationtests");
    try (Connection connection = db.dataSource().getConnection();
        ResultSet rs = connection.createStatement().executeQuery("SELECT current_database()")) {
      rs.next();
      assertThat(rs.getString(1)).isEqualTo(database.name());
    }
  }

  @Test
  void injectsTheDataSource(DataSource dataSource) {
    assertThat(dataSource).isSameAs(db.dataSource());
  }
}
