package dev.outboxkit.spring;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

class MariaDbTransactionalOutboxIntegrationTests extends TransactionalOutboxContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mariadb();

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    database(db, registry);
  }
}
