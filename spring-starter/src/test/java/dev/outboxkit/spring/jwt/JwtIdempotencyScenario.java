package dev.outboxkit.spring.jwt;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.outboxkit.test.TestDatabaseExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.jspecify.annotations.Nullable;
import org.springframework.test.context.DynamicPropertyRegistry;

/** Tokens, requests and database properties shared by the JWT tests. */
final class JwtIdempotencyScenario {

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private final int port;

  JwtIdempotencyScenario(int port) {
    this.port = port;
  }

  static void database(TestDatabaseExtension db, DynamicPropertyRegistry registry) {
    registry.add("spring.datasource.url", db::jdbcUrl);
    registry.add("spring.datasource.username", () -> db.database().username());
    registry.add("spring.datasource.password", () -> db.database().password());
    registry.add("outbox.store.auto-create", () -> "true");
    registry.add("outbox.idempotency.auto-create", () -> "true");
    registry.add(
        "outbox.idempotency.http.fingerprint.key",
        () -> "jwt-test-fingerprint-key-0123456789abcdef");
  }

  /** A token for {@code subject}, signed with the issuer's private key. */
  static String token(String subject) {
    try {
      SignedJWT jwt =
          new SignedJWT(
              new JWSHeader(JWSAlgorithm.RS256),
              new JWTClaimsSet.Builder()
                  .issuer("https://issuer.test")
                  .subject(subject)
                  .issueTime(new Date())
                  .expirationTime(Date.from(Instant.now().plusSeconds(600)))
                  .build());
      jwt.sign(new RSASSASigner(JwtPaymentApplication.SIGNING_KEYS.getPrivate()));
      return jwt.serialize();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  HttpResponse<String> post(String path, String key, String body, @Nullable String token)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
            .timeout(Duration.ofSeconds(60))
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", key)
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
