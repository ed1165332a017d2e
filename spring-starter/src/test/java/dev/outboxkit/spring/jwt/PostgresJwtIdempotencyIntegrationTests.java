package dev.outboxkit.spring.jwt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.net.http.HttpResponse;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Issue 20, finding 2, with real Spring Security: an OAuth2 resource server validating locally
 * signed JWTs, its filter chain in its default place (order -100, before the idempotency filter at
 * 0), so the filter scopes keys by the token's subject.
 */
@SpringBootTest(
    classes = JwtPaymentApplication.class,
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ServerTest
class PostgresJwtIdempotencyIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    JwtIdempotencyScenario.database(db, registry);
  }

  @LocalServerPort int port;
  @Autowired JdbcTemplate jdbc;
  @Autowired JwtPaymentApplication.Orders orders;
  private JwtIdempotencyScenario api;

  @BeforeEach
  void client() {
    api = new JwtIdempotencyScenario(port);
  }

  @Test
  void twoCallersWithTheSameKeyAndBodyGetTheirOwnResults() throws Exception {
    String key = UUID.randomUUID().toString();
    String body = "{\"amountMinor\":1250}";
    String alice = JwtIdempotencyScenario.token("alice");
    String bob = JwtIdempotencyScenario.token("bob");
    int before = orders.executions.get();

    HttpResponse<String> aliceFirst = api.post("/orders", key, body, alice);
    HttpResponse<String> bobFirst = api.post("/orders", key, body, bob);
    HttpResponse<String> aliceAgain = api.post("/orders", key, body, alice);

    assertThat(aliceFirst.statusCode()).isEqualTo(200);
    assertThat(bobFirst.statusCode()).isEqualTo(200);
    assertThat(bobFirst.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(bobFirst.body()).contains("\"by\":\"bob\"").isNotEqualTo(aliceFirst.body());
    assertThat(aliceAgain.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(aliceAgain.body()).isEqualTo(aliceFirst.body());
    assertThat(orders.executions.get() - before).isEqualTo(2);
    assertThat(
            jdbc.queryForList(
                "SELECT scope FROM idempotency_key WHERE idem_key = ? ORDER BY scope",
                String.class,
                key))
        .containsExactly("http:principal:alice", "http:principal:bob");
  }

  @Test
  void anUnauthenticatedCallerIsRefusedBySpringSecurityOrByTheFilter() throws Exception {
    String key = UUID.randomUUID().toString();
    String body = "{\"amountMinor\":1}";
    int before = orders.executions.get();
    // An endpoint that needs authentication: Spring Security answers before the filter runs.
    assertThat(api.post("/orders", key, body, null).statusCode()).isEqualTo(401);
    // A token signed by another key is no authentication either.
    assertThat(api.post("/orders", key, body, forgedToken()).statusCode()).isEqualTo(401);
    // An endpoint open to anonymous callers: the filter refuses a key it cannot scope.
    HttpResponse<String> anonymous = api.post("/public/orders", key, body, null);
    HttpResponse<String> again = api.post("/public/orders", key, body, null);
    for (HttpResponse<String> refused : java.util.List.of(anonymous, again)) {
      assertThat(refused.statusCode()).isEqualTo(403);
      assertThat(refused.headers().firstValue("Content-Type")).hasValue("application/problem+json");
      assertThat(refused.body())
          .contains("idempotency-caller-unknown")
          .contains("not authenticated");
    }
    assertThat(orders.executions.get()).isEqualTo(before);
    // The same public endpoint with a token works and is scoped to its subject.
    HttpResponse<String> carol =
        api.post("/public/orders", key, body, JwtIdempotencyScenario.token("carol"));
    assertThat(carol.statusCode()).isEqualTo(200);
    assertThat(carol.body()).contains("\"by\":\"carol\"");
  }

  private static String forgedToken() throws Exception {
    java.security.KeyPairGenerator generator = java.security.KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048);
    com.nimbusds.jwt.SignedJWT jwt =
        new com.nimbusds.jwt.SignedJWT(
            new com.nimbusds.jose.JWSHeader(com.nimbusds.jose.JWSAlgorithm.RS256),
            new com.nimbusds.jwt.JWTClaimsSet.Builder()
                .subject("alice")
                .expirationTime(new java.util.Date(System.currentTimeMillis() + 600_000))
                .build());
    jwt.sign(new com.nimbusds.jose.crypto.RSASSASigner(generator.generateKeyPair().getPrivate()));
    return jwt.serialize();
  }
}
