package dev.outboxkit.spring.web;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

class MySqlHttpIdempotencyIntegrationTests extends HttpIdempotencyContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mysql();

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    database(db, registry);
  }
}
