package dev.outboxkit.spring.jwt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.net.http.HttpResponse;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Spring Security's filter chain ordered after the idempotency filter ({@code
 * spring.security.filter.order=10}): the filter cannot see the principal. It must then refuse the
 * keyed request (never share a scope), and start-up warns about the order.
 */
@SpringBootTest(
    classes = JwtPaymentApplication.class,
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = "spring.security.filter.order=10")
@ServerTest
@ExtendWith(OutputCaptureExtension.class)
class PostgresJwtSecurityAfterIdempotencyFilterIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    JwtIdempotencyScenario.database(db, registry);
  }

  @LocalServerPort int port;
  @Autowired JwtPaymentApplication.Orders orders;

  @Test
  void anAuthenticatedCallerIsRefusedRatherThanScopedWithoutItsPrincipal(CapturedOutput output)
      throws Exception {
    assertThat(output)
        .contains("spring.security.filter.order=10 puts Spring Security after the Idempotency-Key");
    JwtIdempotencyScenario api = new JwtIdempotencyScenario(port);
    int before = orders.executions.get();
    HttpResponse<String> alice =
        api.post(
            "/orders",
            UUID.randomUUID().toString(),
            "{\"amountMinor\":1}",
            JwtIdempotencyScenario.token("alice"));
    assertThat(alice.statusCode()).isEqualTo(403);
    assertThat(alice.body()).contains("idempotency-caller-unknown");
    assertThat(orders.executions.get()).isEqualTo(before);
  }
}
