package dev.outboxkit.idempotency;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.Test;

/**
 * The idempotency contract plus what MySQL and MariaDB share: InnoDB's session lock wait timeout,
 * and Connector/J's and MariaDB Connector/J's option for server-side prepared statements.
 */
abstract class MySqlFamilyIdempotencyContractTests extends IdempotencyContractTests
    implements PurgeNeverWaitsContract {

  @Override
  String lockTimeoutQuery() {
    return "SELECT @@SESSION.innodb_lock_wait_timeout";
  }

  /** Server-side prepared statements: the bounded claim must be preparable as well. */
  @Test
  void claimsWaitsAndReplaysWithServerSidePreparedStatements() throws Exception {
    TestDatabaseExtension db = db();
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

  @Override
  public String lockWaitsQuery() {
    return "SELECT COUNT(*) FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT'";
  }
}
