package dev.outboxkit.test;

import org.jspecify.annotations.Nullable;
import org.opentest4j.TestAbortedException;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.mysql.MySQLContainer;

/**
 * Starts MySQL 8 in a container, for machines where the MySQL process cannot run but a Docker
 * engine exists; aborts (skips) the calling test when no Docker engine exists.
 */
final class MySqlContainerLauncher {

  static final String IMAGE = "mysql:8.4";

  private MySqlContainerLauncher() {}

  static @Nullable String unavailableReason() {
    return DockerClientFactory.instance().isDockerAvailable()
        ? null
        : "MySQL 8 tests need a Docker engine for Testcontainers and none was found. Start Docker, or"
            + " point the tests at a MySQL 8 server with "
            + ExternalServer.envName("mysql", "url")
            + " (and _USERNAME, _PASSWORD) or -Doutboxkit.test.mysql.url=...";
  }

  static DatabaseServer start() {
    String unavailable = unavailableReason();
    if (unavailable != null) {
      throw new TestAbortedException(unavailable);
    }
    MySQLContainer mysql =
        new MySQLContainer(IMAGE)
            .withUsername("root")
            .withPassword("test")
            .withCommand("--binlog-format=ROW", "--server-id=1", "--max-connections=300");
    mysql.start();
    TestShutdown.register("MySQL container " + IMAGE, mysql::stop);
    return new JdbcDatabaseServer(
        DatabaseKind.MYSQL,
        "MySQL container " + IMAGE + " on port " + mysql.getFirstMappedPort(),
        JdbcUrls.withDatabase(mysql.getJdbcUrl(), "mysql"),
        "root",
        "test");
  }
}
