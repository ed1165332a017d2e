package dev.outboxkit.idempotency.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;

/**
 * Issue 20, findings 2 and 6: keys scoped to the real caller, no credentials or auth failures
 * replayed, a bounded stored response, and fingerprints that do not give away a card number.
 */
class IdempotencyFilterSecurityTests {

  private static final String KEY = "a-fingerprint-key-of-at-least-32-bytes!";

  private final FilterHarness harness = new FilterHarness();

  IdempotencyFilterSecurityTests() throws Exception {}

  private static IdempotencyFilterSettings settings() {
    return IdempotencyFilterSettings.defaults(RequestFingerprinting.hmacSha256(KEY))
        .withPathPatterns(List.of("/payments/**"));
  }

  @Test
  void aKeyWithoutACallerIsRefusedAndNeverSharesAResponse() throws Exception {
    IdempotencyFilter filter = harness.filter(settings());
    FilterHarness.Handler handler = new FilterHarness.Handler(201);
    MockHttpServletResponse first =
        FilterHarness.send(filter, FilterHarness.post("k-1", "{}", null, null), handler);
    MockHttpServletResponse second =
        FilterHarness.send(filter, FilterHarness.post("k-1", "{}", null, null), handler);
    for (MockHttpServletResponse response : List.of(first, second)) {
      assertThat(response.getStatus()).isEqualTo(403);
      assertThat(response.getContentType()).isEqualTo("application/problem+json");
      assertThat(response.getContentAsString())
          .contains("urn:outboxkit:problem:idempotency-caller-unknown")
          .contains("not authenticated");
      assertThat(response.getHeader("Idempotent-Replayed")).isNull();
    }
    assertThat(handler.runs).hasValue(0);
    assertThat(harness.jdbc.queryForObject("SELECT count(*) FROM idempotency_key", Integer.class))
        .isZero();
    assertThat(
            harness
                .registry
                .get("idempotency.requests")
                .tag("outcome", "rejected")
                .counter()
                .count())
        .isEqualTo(2);
  }

  @Test
  void theSharedAnonymousScopeIsAnExplicitChoice() throws Exception {
    IdempotencyFilter filter = harness.filter(settings().withSharedAnonymousScope(true));
    FilterHarness.Handler handler = new FilterHarness.Handler(201);
    FilterHarness.send(filter, FilterHarness.post("k-2", "{}", null, null), handler);
    MockHttpServletResponse second =
        FilterHarness.send(filter, FilterHarness.post("k-2", "{}", null, null), handler);
    assertThat(second.getHeader("Idempotent-Replayed")).isEqualTo("true");
    assertThat(handler.runs).hasValue(1);
    assertThat(
            harness.jdbc.queryForObject(
                "SELECT scope FROM idempotency_key WHERE idem_key = 'k-2'", String.class))
        .isEqualTo("http:anonymous");
  }

  @Test
  void aScopeResolverSeparatesCallersTheWayTheApplicationKnowsThem() throws Exception {
    IdempotencyScopeResolver tenants =
        IdempotencyScopeResolver.of("tenant:", request -> request.getHeader("X-Tenant"));
    IdempotencyFilter filter =
        harness.filter(
            settings()
                .withScopeResolver(
                    IdempotencyScopeResolver.principal()
                        .orElse(tenants)
                        .orElse(IdempotencyScopeResolver.header("X-Client"))));
    FilterHarness.Handler handler = new FilterHarness.Handler(201);
    MockHttpServletRequest acme = FilterHarness.post("k-3", "{}", null, null);
    acme.addHeader("X-Tenant", "acme");
    MockHttpServletRequest globex = FilterHarness.post("k-3", "{}", null, null);
    globex.addHeader("X-Tenant", "globex");
    MockHttpServletResponse first = FilterHarness.send(filter, acme, handler);
    MockHttpServletResponse other = FilterHarness.send(filter, globex, handler);
    MockHttpServletResponse alice =
        FilterHarness.send(filter, FilterHarness.post("k-3", "{}", "alice", null), handler);
    MockHttpServletResponse client =
        FilterHarness.send(filter, FilterHarness.post("k-3", "{}", null, "c-1"), handler);
    assertThat(List.of(first, other, alice, client))
        .allSatisfy(r -> assertThat(r.getHeader("Idempotent-Replayed")).isNull());
    assertThat(handler.runs).hasValue(4);
    assertThat(
            harness.jdbc.queryForList(
                "SELECT scope FROM idempotency_key WHERE idem_key = 'k-3' ORDER BY scope",
                String.class))
        .containsExactly("http:client:c-1", "http:principal:alice", "tenant:acme", "tenant:globex");
  }

  @Test
  void authenticationAndAuthorizationFailuresAreNotStored() throws Exception {
    for (int status : new int[] {401, 403, 407}) {
      IdempotencyFilter filter = harness.filter(settings());
      FilterHarness.Handler handler = new FilterHarness.Handler(status);
      String key = "k-auth-" + status;
      FilterHarness.send(filter, FilterHarness.post(key, "{}", "alice", null), handler);
      MockHttpServletResponse again =
          FilterHarness.send(filter, FilterHarness.post(key, "{}", "alice", null), handler);
      assertThat(again.getStatus()).isEqualTo(status);
      assertThat(again.getHeader("Idempotent-Replayed")).as("status %s", status).isNull();
      assertThat(handler.runs).as("status %s", status).hasValue(2);
    }
    assertThat(CacheableResponses.DEFAULT.isCacheable(402)).isTrue();
    assertThat(CacheableResponses.DEFAULT.isCacheable(404)).isTrue();
  }

  @Test
  void aResponseOverTheLimitIsSentButOnlyItsStatusAndHeadersAreStored() throws Exception {
    IdempotencyFilter filter = harness.filter(settings().withMaxStoredResponseBytes(100));
    FilterHarness.Handler handler = new FilterHarness.Handler(201, 200);
    MockHttpServletResponse first =
        FilterHarness.send(filter, FilterHarness.post("k-big", "{}", "alice", null), handler);
    assertThat(first.getStatus()).isEqualTo(201);
    assertThat(first.getContentAsString())
        .startsWith("{\"id\":\"payment-1\"")
        .hasSizeGreaterThan(200);
    assertThat(first.getHeader("Idempotent-Body-Stored")).isEqualTo("false");
    MockHttpServletResponse replay =
        FilterHarness.send(filter, FilterHarness.post("k-big", "{}", "alice", null), handler);
    assertThat(handler.runs).as("the work never runs twice").hasValue(1);
    assertThat(replay.getStatus()).isEqualTo(201);
    assertThat(replay.getHeader("Idempotent-Replayed")).isEqualTo("true");
    assertThat(replay.getHeader("Idempotent-Body-Stored")).isEqualTo("false");
    assertThat(replay.getHeader("Location")).isEqualTo("/payments/1");
    assertThat(replay.getContentAsByteArray()).isEmpty();
    assertThat(replay.getContentType()).isNull();
    assertThat(
            harness
                .registry
                .get("idempotency.responses.not.stored")
                .tag("reason", "too-large")
                .counter()
                .count())
        .isEqualTo(1);
    // At the limit it is stored whole.
    FilterHarness.Handler small = new FilterHarness.Handler(201, 0);
    FilterHarness.send(filter, FilterHarness.post("k-small", "{}", "alice", null), small);
    MockHttpServletResponse smallReplay =
        FilterHarness.send(filter, FilterHarness.post("k-small", "{}", "alice", null), small);
    assertThat(smallReplay.getContentAsString()).isEqualTo("{\"id\":\"payment-1\",\"pad\":\"\"}");
    assertThat(smallReplay.getHeader("Idempotent-Body-Stored")).isNull();
  }

  @Test
  void theStoredFingerprintIsAnHmacSoACardNumberCannotBeRecoveredFromTheTable() throws Exception {
    String body = "{\"pan\":\"4111111111111111\",\"amountMinor\":100}";
    FilterHarness.send(
        harness.filter(settings()),
        FilterHarness.post("k-pan", body, "alice", null),
        new FilterHarness.Handler(201));
    String stored =
        harness.jdbc.queryForObject(
            "SELECT fingerprint FROM idempotency_key WHERE idem_key = 'k-pan'", String.class);
    byte[] input = ("POST\n/payments/charge\n" + body).getBytes(StandardCharsets.UTF_8);
    assertThat(stored).isNotEqualTo(sha256(input));
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(KEY.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    assertThat(stored).isEqualTo(HexFormat.of().formatHex(mac.doFinal(input)));
    assertThat(stored).doesNotContain("4111");
  }

  @Test
  void plainSha256IsAnExplicitChoice() throws Exception {
    String body = "{\"amountMinor\":100}";
    FilterHarness.send(
        harness.filter(
            IdempotencyFilterSettings.defaults(RequestFingerprinting.sha256())
                .withPathPatterns(List.of("/payments/**"))),
        FilterHarness.post("k-sha", body, "alice", null),
        new FilterHarness.Handler(201));
    assertThat(
            harness.jdbc.queryForObject(
                "SELECT fingerprint FROM idempotency_key WHERE idem_key = 'k-sha'", String.class))
        .isEqualTo(sha256(("POST\n/payments/charge\n" + body).getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void theFingerprintKeyIsNeverShownAndMustBeLongEnough() {
    RequestFingerprinting hmac = RequestFingerprinting.hmacSha256(KEY);
    assertThat(hmac.toString()).doesNotContain(KEY).doesNotContain("fingerprint-key");
    assertThat(settings().toString()).doesNotContain(KEY);
    assertThatThrownBy(() -> RequestFingerprinting.hmacSha256("short-secret-value"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("the fingerprint key must have at least 32 bytes but has 18")
        .hasMessageNotContaining("short-secret-value");
  }

  @Test
  void replayedHeadersRefuseCredentials() {
    for (String header : List.of("Set-Cookie", "authorization", "Proxy-Authorization")) {
      assertThatThrownBy(
              () -> settings().withReplayedHeaders(List.of("Content-Type", header, "Location")))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("replayedHeaders must not contain " + header);
    }
  }

  private static String sha256(byte[] input) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(input));
  }
}
