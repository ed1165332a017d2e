package dev.outboxkit.idempotency.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockHttpServletRequest;

/** The HMAC key ring: the current key fingerprints, previous keys are only compared. */
class RequestFingerprintingRingTests {

  private static final String KEY_A = "key-a-of-at-least-thirty-two-bytes-0001";
  private static final String KEY_B = "key-b-of-at-least-thirty-two-bytes-0002";
  private static final String KEY_C = "key-c-of-at-least-thirty-two-bytes-0003";
  private static final byte[] BODY = "{\"amountMinor\":100}".getBytes(StandardCharsets.UTF_8);

  private static String fingerprint(RequestFingerprinting algorithm) {
    return RequestFingerprints.ofBody(algorithm, request(), BODY);
  }

  private static MockHttpServletRequest request() {
    return new MockHttpServletRequest("POST", "/payments/charge");
  }

  @Test
  void theCurrentKeyFingerprintsAndPreviousKeysGiveTheEarlierFingerprintsNewestFirst() {
    RequestFingerprinting ring =
        RequestFingerprinting.hmacSha256(KEY_C).withPreviousTextKeys(List.of(KEY_B, KEY_A));

    assertThat(fingerprint(ring)).isEqualTo(fingerprint(RequestFingerprinting.hmacSha256(KEY_C)));
    assertThat(
            RequestFingerprints.underPreviousKeys(
                ring, previous -> RequestFingerprints.ofBody(previous, request(), BODY)))
        .containsExactly(
            fingerprint(RequestFingerprinting.hmacSha256(KEY_B)),
            fingerprint(RequestFingerprinting.hmacSha256(KEY_A)));
    assertThat(ring.previousKeyCount()).isEqualTo(2);
    assertThat(
            RequestFingerprints.underPreviousKeys(
                RequestFingerprinting.hmacSha256(KEY_C),
                previous -> RequestFingerprints.ofBody(previous, request(), BODY)))
        .isEmpty();
  }

  @Test
  void aRingOfFormPostsUsesTheSameEncodingUnderEachKey() {
    MockHttpServletRequest form = request();
    form.addParameter("amountMinor", "100");
    RequestFingerprinting ring =
        RequestFingerprinting.hmacSha256(KEY_B).withPreviousTextKeys(List.of(KEY_A));
    assertThat(
            RequestFingerprints.underPreviousKeys(
                ring, previous -> RequestFingerprints.ofForm(previous, form)))
        .containsExactly(RequestFingerprints.ofForm(RequestFingerprinting.hmacSha256(KEY_A), form));
  }

  @Test
  void noKeyOfTheRingIsEverShown() {
    RequestFingerprinting ring =
        RequestFingerprinting.hmacSha256(KEY_B).withPreviousTextKeys(List.of(KEY_A));
    assertThat(ring.toString())
        .isEqualTo("HMAC-SHA256 (key hidden, 1 previous accepted)")
        .doesNotContain(KEY_A)
        .doesNotContain(KEY_B);
    assertThat(IdempotencyFilterSettings.defaults(ring).toString())
        .doesNotContain(KEY_A)
        .doesNotContain(KEY_B);
  }

  @Test
  void aShortPreviousKeyIsRefusedByItsPositionNeverByItsValue() {
    assertThatThrownBy(
            () ->
                RequestFingerprinting.hmacSha256(KEY_B)
                    .withPreviousTextKeys(List.of(KEY_A, "short-old-secret")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("previous fingerprint key #2 must have at least 32 bytes but has 16")
        .message()
        .doesNotContain("short-old-secret");
  }

  @Test
  void missingPreviousKeysAreRefusedNamingThePropertyNotWithANullPointer() {
    RequestFingerprinting current = RequestFingerprinting.hmacSha256(KEY_B);
    String property = "outbox.idempotency.http.fingerprint.previous-keys";
    assertThatThrownBy(() -> current.withPreviousKeys(null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(property + " must not be null; pass an empty list for no previous keys");
    assertThatThrownBy(() -> current.withPreviousTextKeys(null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(property + " must not be null; pass an empty list for no previous keys");
    assertThatThrownBy(() -> current.withPreviousKeys(Arrays.asList(KEY_A.getBytes(), null)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(property + "[1] (previous fingerprint key #2) is missing (null)");
    assertThatThrownBy(() -> current.withPreviousTextKeys(Arrays.asList(null, KEY_A)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(property + "[0] (previous fingerprint key #1) is missing (null)");
  }

  @Test
  void plainSha256HasNoKeyToRotate() {
    assertThatThrownBy(() -> RequestFingerprinting.sha256().withPreviousTextKeys(List.of(KEY_A)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("plain SHA-256 fingerprints use no key");
  }
}
