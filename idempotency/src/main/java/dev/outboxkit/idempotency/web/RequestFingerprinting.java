package dev.outboxkit.idempotency.web;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;

/**
 * How the filter fingerprints a request (method, path, query and body) to recognise the same
 * request again under the same key. The fingerprint is stored in the key table for the key's time
 * to live.
 *
 * <p>{@link #hmacSha256(byte[]) HMAC-SHA256} with a secret key is the recommended choice: a plain
 * SHA-256 of a body that holds a card number (PAN) can be brute-forced from the table, because a
 * PAN has few unknown digits; without the key an HMAC cannot. {@link #sha256()} stays available as
 * an explicit choice for bodies without secrets. Changing the algorithm or the key changes every
 * fingerprint: a retry of a key stored before the change is answered 422 until the key expires. The
 * key never appears in {@link #toString()}. Thread-safe.
 *
 * @since 0.1.0
 */
public final class RequestFingerprinting {

  /** The shortest HMAC key accepted: 32 bytes, the output size of SHA-256. */
  public static final int MIN_KEY_BYTES = 32;

  private static final String HMAC = "HmacSHA256";

  private final @Nullable SecretKeySpec key;

  private RequestFingerprinting(@Nullable SecretKeySpec key) {
    this.key = key;
  }

  /**
   * HMAC-SHA256 under a secret key.
   *
   * @param key at least {@value #MIN_KEY_BYTES} bytes, e.g. from {@code openssl rand -base64 32};
   *     copied
   * @throws IllegalArgumentException when the key is shorter (the message never shows the key)
   */
  public static RequestFingerprinting hmacSha256(byte[] key) {
    if (key == null || key.length < MIN_KEY_BYTES) {
      throw new IllegalArgumentException(
          "the fingerprint key must have at least "
              + MIN_KEY_BYTES
              + " bytes but has "
              + (key == null ? 0 : key.length));
    }
    return new RequestFingerprinting(new SecretKeySpec(Arrays.copyOf(key, key.length), HMAC));
  }

  /**
   * HMAC-SHA256 under a secret key given as text (its UTF-8 bytes).
   *
   * @param key at least {@value #MIN_KEY_BYTES} bytes in UTF-8
   */
  public static RequestFingerprinting hmacSha256(String key) {
    return hmacSha256(key == null ? new byte[0] : key.getBytes(StandardCharsets.UTF_8));
  }

  /** Plain SHA-256, without a key: only for bodies that hold no secret a guess could confirm. */
  public static RequestFingerprinting sha256() {
    return new RequestFingerprinting(null);
  }

  /** Whether this is keyed (HMAC). */
  public boolean isKeyed() {
    return key != null;
  }

  /** A fresh digest for one request. */
  Digest start() {
    try {
      if (key == null) {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        return new Digest(digest::update, digest::digest);
      }
      Mac mac = Mac.getInstance(HMAC);
      mac.init(key);
      return new Digest(mac::update, mac::doFinal);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256 and HmacSHA256 are part of every Java runtime", e);
    }
  }

  @Override
  public String toString() {
    return key == null ? "SHA-256" : "HMAC-SHA256 (key hidden)";
  }

  /** Bytes in, a hex digest out. */
  static final class Digest {
    private final java.util.function.Consumer<byte[]> update;
    private final java.util.function.Supplier<byte[]> finish;

    private Digest(
        java.util.function.Consumer<byte[]> update, java.util.function.Supplier<byte[]> finish) {
      this.update = update;
      this.finish = finish;
    }

    void update(byte[] bytes) {
      update.accept(bytes);
    }

    void update(byte b) {
      update.accept(new byte[] {b});
    }

    String hex() {
      return HexFormat.of().formatHex(finish.get());
    }
  }
}
