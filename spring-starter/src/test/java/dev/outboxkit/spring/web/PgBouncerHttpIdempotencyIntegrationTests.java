package dev.outboxkit.spring.web;

import dev.outboxkit.test.PgBouncerServer;
import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.condition.DisabledIf;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The HTTP {@code Idempotency-Key} contract with the application's DataSource going through
 * PgBouncer in transaction pooling mode (as behind RDS Proxy or a PgBouncer sidecar): every key
 * claim, result and replay, and the fifty concurrent duplicates, on connections the pooler hands
 * out per transaction. Skipped, naming the package, without {@code pgbouncer}.
 */
@DisabledIf(
    value = "noPgBouncer",
    disabledReason = "no pgbouncer binary: install the Debian package pgbouncer")
class PgBouncerHttpIdempotencyIntegrationTests extends HttpIdempotencyContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  static boolean noPgBouncer() {
    return PgBouncerServer.unavailableReason() != null;
  }

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    database(db, () -> PgBouncerServer.get().jdbcUrl(db.database()), registry);
  }
}
