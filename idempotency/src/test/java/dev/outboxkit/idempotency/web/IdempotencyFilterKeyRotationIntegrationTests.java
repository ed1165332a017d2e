package dev.outboxkit.idempotency.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.mock.web.MockHttpServletResponse;

/**
 * Issue 20: rotating the fingerprint HMAC key. A key stored under key A, then the application
 * restarts with the ring [B current, A previous]: the retry is replayed, not answered 422. Each
 * "restart" is a new filter over the same key table in a real PostgreSQL.
 */
@ServerTest
class IdempotencyFilterKeyRotationIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private static final String KEY_A = "key-a-of-at-least-thirty-two-bytes-0001";
  private static final String KEY_B = "key-b-of-at-least-thirty-two-bytes-0002";
  private static final String KEY_C = "key-c-of-at-least-thirty-two-bytes-0003";
  private static final String BODY = "{\"amountMinor\":100}";

  private FilterHarness harness;

  @BeforeEach
  void emptyKeyTable() throws Exception {
    harness = new FilterHarness(db.dataSource());
    harness.jdbc.update("DELETE FROM idempotency_key");
  }

  private IdempotencyFilter filter(RequestFingerprinting fingerprinting) {
    return harness.filter(
        IdempotencyFilterSettings.defaults(fingerprinting)
            .withPathPatterns(List.of("/payments/**")));
  }

  private static MockHttpServletResponse send(
      IdempotencyFilter filter, String body, FilterHarness.Handler handler) throws Exception {
    return FilterHarness.send(filter, FilterHarness.post("k-1", body, "alice", null), handler);
  }

  @Test
  void aKeyStoredUnderThePreviousKeyIsReplayedAfterTheRotationAndADifferentBodyStillMismatches()
      throws Exception {
    FilterHarness.Handler handler = new FilterHarness.Handler(201);
    MockHttpServletResponse first =
        send(filter(RequestFingerprinting.hmacSha256(KEY_A)), BODY, handler);
    assertThat(first.getStatus()).isEqualTo(201);

    IdempotencyFilter rotated =
        filter(RequestFingerprinting.hmacSha256(KEY_B).withPreviousTextKeys(List.of(KEY_A)));
    MockHttpServletResponse retry = send(rotated, BODY, handler);
    MockHttpServletResponse otherBody = send(rotated, "{\"amountMinor\":999}", handler);

    assertThat(retry.getStatus()).isEqualTo(201);
    assertThat(retry.getContentAsString()).isEqualTo(first.getContentAsString());
    assertThat(retry.getHeader("Location")).isEqualTo("/payments/1");
    assertThat(otherBody.getStatus()).isEqualTo(422);
    assertThat(handler.runs).hasValue(1);
    // The stored claim is not rewritten: it keeps its key-A fingerprint until it expires.
    assertThat(storedFingerprint("k-1")).isEqualTo(hmac(KEY_A, BODY));
  }

  @Test
  void newKeysAreFingerprintedWithTheCurrentKeyOnly() throws Exception {
    FilterHarness.send(
        filter(RequestFingerprinting.hmacSha256(KEY_B).withPreviousTextKeys(List.of(KEY_A))),
        FilterHarness.post("k-new", BODY, "alice", null),
        new FilterHarness.Handler(201));

    assertThat(storedFingerprint("k-new")).isEqualTo(hmac(KEY_B, BODY));
  }

  @Test
  void onceTheKeyIsRemovedFromTheRingItsStoredKeysGet422UntilTheyExpire() throws Exception {
    FilterHarness.Handler handler = new FilterHarness.Handler(201);
    send(filter(RequestFingerprinting.hmacSha256(KEY_A)), BODY, handler);

    MockHttpServletResponse retry =
        send(
            filter(RequestFingerprinting.hmacSha256(KEY_C).withPreviousTextKeys(List.of(KEY_B))),
            BODY,
            handler);

    assertThat(retry.getStatus()).isEqualTo(422);
    assertThat(retry.getContentAsString()).contains("was already used for a different request");
    assertThat(handler.runs).hasValue(1);
  }

  private String storedFingerprint(String key) {
    return harness.jdbc.queryForObject(
        "SELECT fingerprint FROM idempotency_key WHERE idem_key = ?", String.class, key);
  }

  private static String hmac(String key, String body) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return HexFormat.of()
        .formatHex(
            mac.doFinal(("POST\n/payments/charge\n" + body).getBytes(StandardCharsets.UTF_8)));
  }
}
