package dev.outboxkit.spring.jwt;

import dev.outboxkit.idempotency.web.Idempotent;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.Principal;
import java.security.interfaces.RSAPublicKey;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.NimbusJwtDecoder;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/**
 * An API behind real Spring Security: an OAuth2 resource server that validates JWTs signed by a key
 * pair generated here (the tests sign their tokens with its private key). {@code /orders} needs a
 * token; {@code /public/orders} also lets anonymous callers in, as an API with a mix of public and
 * authenticated endpoints does.
 */
@SpringBootApplication
public class JwtPaymentApplication {

  /** The issuer's signing key; the decoder trusts only its public half. */
  static final KeyPair SIGNING_KEYS = rsaKeyPair();

  @Bean
  JwtDecoder jwtDecoder() {
    return NimbusJwtDecoder.withPublicKey((RSAPublicKey) SIGNING_KEYS.getPublic()).build();
  }

  @Bean
  SecurityFilterChain api(HttpSecurity http) throws Exception {
    return http.csrf(csrf -> csrf.disable())
        .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
        .authorizeHttpRequests(
            requests ->
                requests.requestMatchers("/public/**").permitAll().anyRequest().authenticated())
        .oauth2ResourceServer(server -> server.jwt(Customizer.withDefaults()))
        .build();
  }

  private static KeyPair rsaKeyPair() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
      generator.initialize(2048);
      return generator.generateKeyPair();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Creates an order with a server-generated id: what one caller must never see of another's. */
  @RestController
  static class Orders {
    final AtomicInteger executions = new AtomicInteger();

    @Idempotent
    @PostMapping({"/orders", "/public/orders"})
    Map<String, Object> create(@RequestBody Map<String, Object> order, @Nullable Principal caller) {
      executions.incrementAndGet();
      return Map.of(
          "orderId", UUID.randomUUID().toString(),
          "by", caller == null ? "anonymous" : caller.getName(),
          "amountMinor", order.getOrDefault("amountMinor", 0));
    }
  }
}
