package dev.outboxkit.spring;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

class MySqlTransactionalOutboxIntegrationTests extends TransactionalOutboxContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mysql();

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    database(db, registry);
  }
}
