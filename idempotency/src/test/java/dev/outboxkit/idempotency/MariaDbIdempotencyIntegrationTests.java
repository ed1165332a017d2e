package dev.outboxkit.idempotency;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class MariaDbIdempotencyIntegrationTests extends IdempotencyContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mariadb();

  @Override
  TestDatabaseExtension db() {
    return db;
  }

  @Override
  int roundTripsOfAnExecutedCall() {
    return 3;
  }

  @Override
  String lockTimeoutQuery() {
    return "SELECT @@SESSION.innodb_lock_wait_timeout";
  }

  /** Server-side prepared statements: the bounded claim must be preparable as well. */
  @Test
  void claimsWaitsAndReplaysWithServerSidePreparedStatements() throws Exception {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(
        db.jdbcUrl() + (db.jdbcUrl().contains("?") ? "&" : "?") + "useServerPrepStmts=true");
    config.setUsername(db.database().username());
    config.setPassword(db.database().password());
    config.setMaximumPoolSize(2);
    try (HikariDataSource dataSource = new HikariDataSource(config)) {
      claimsWaitsAndReplaysThrough(dataSource);
    }
  }
}
