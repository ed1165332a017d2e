package dev.outboxkit.relay;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.ResourceLock;

/** The CDC contract on a real MySQL 8 server's binlog, read by Debezium's MySQL connector. */
@ResourceLock(CdcTestLocks.BINLOG_CLIENTS)
class MySqlCdcRelayIntegrationTests extends CdcRelayContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mysql();

  @Override
  TestDatabaseExtension database() {
    return db;
  }

  /** Issue 20: MySQL's form, {@code SET DEFAULT ROLE ... TO ...} (see docs/roles.md). */
  @Test
  void anEventAfterADefaultRoleWasSetIsPublished() throws Exception {
    anEventAfterADefaultRoleWasSetOnTheServerIsPublished("SET DEFAULT ROLE %1$s TO %2$s");
  }

  /**
   * Issue 12: a {@code jdbc:mariadb:} URL that reaches MySQL gets the MySQL connector (the MariaDB
   * connector cannot read a MySQL 8 binlog). MariaDB Connector/J does not use TLS by default, so
   * MySQL's caching_sha2_password needs the server's public key.
   */
  @Test
  void aMariaDbUrlThatReachesMySqlIsReadWithTheMySqlConnector() {
    String url = db.database().jdbcUrl().replace("jdbc:mysql:", "jdbc:mariadb:");
    publishesThroughTheUrl(url + (url.contains("?") ? "&" : "?") + "allowPublicKeyRetrieval=true");
  }

  @Test
  void aKeepAliveReconnectMidTransactionLosesAndRepeatsNothing() throws Exception {
    aKeepAliveReconnectWhileTheQueueIsFullLosesAndRepeatsNothing();
  }

  @Test
  void anEventAfterAnOnlineSchemaChangeOfTheOutboxTableIsPublished() throws Exception {
    anEventAfterAnOnlineSchemaChangeOnTheServerIsPublished();
  }
}
