package dev.outboxkit.idempotency.web;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
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
 * an explicit choice for bodies without secrets.
 *
 * <p><b>Key rotation.</b> Changing the algorithm or the key changes every fingerprint. To rotate
 * the HMAC key without answering retries of keys stored before the change with 422, keep the old
 * key in the ring: {@code hmacSha256(newKey).withPreviousKeys(List.of(oldKey))}. New fingerprints
 * use the current key only; a stored fingerprint is also accepted when it matches the request under
 * one of the previous keys (every key of the ring is tried, so nothing about the key is stored;
 * those HMACs are computed only when the stored fingerprint is not the current one). Keep a
 * previous key for at least the key table's time to live after the rotation; once it is removed,
 * retries of keys stored under it get 422 until they expire, exactly as without a ring. No key ever
 * appears in {@link #toString()} or in an exception message. Thread-safe.
 *
 * @since 0.1.0
 */
public final class RequestFingerprinting {

  /** The shortest HMAC key accepted: 32 bytes, the output size of SHA-256. */
  public static final int MIN_KEY_BYTES = 32;

  private static final String HMAC = "HmacSHA256";

  private final @Nullable SecretKeySpec key;
  private final List<RequestFingerprinting> previous;

  private RequestFingerprinting(@Nullable SecretKeySpec key, List<RequestFingerprinting> previous) {
    this.key = key;
    this.previous = previous;
  }

  /**
   * HMAC-SHA256 under a secret key.
   *
   * @param key at least {@value #MIN_KEY_BYTES} bytes, e.g. from {@code openssl rand -base64 32};
   *     copied
   * @throws IllegalArgumentException when the key is shorter (the message never shows the key)
   */
  public static RequestFingerprinting hmacSha256(byte[] key) {
    return new RequestFingerprinting(secret("the fingerprint key", key), List.of());
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
    return new RequestFingerprinting(null, List.of());
  }

  /**
   * This HMAC key as the current one, with earlier keys still accepted when a stored fingerprint is
   * compared (see the class comment). Replaces any previous keys given before.
   *
   * @param previousKeys the earlier keys, newest first, each at least {@value #MIN_KEY_BYTES}
   *     bytes; copied
   * @throws IllegalArgumentException when the list or a key is {@code null}, or a key is too short
   *     (the message names the property and the position, never the key)
   * @throws IllegalStateException when this is plain SHA-256, which has no key to rotate
   */
  public RequestFingerprinting withPreviousKeys(List<byte[]> previousKeys) {
    if (key == null) {
      throw new IllegalStateException(
          "plain SHA-256 fingerprints use no key, so there are no previous keys to accept");
    }
    if (previousKeys == null) {
      throw missingKeys();
    }
    List<RequestFingerprinting> ring = new java.util.ArrayList<>(previousKeys.size());
    for (int i = 0; i < previousKeys.size(); i++) {
      byte[] previousKey = previousKeys.get(i);
      if (previousKey == null) {
        throw missingKey(i);
      }
      ring.add(
          new RequestFingerprinting(
              secret("previous fingerprint key #" + (i + 1), previousKey), List.of()));
    }
    return new RequestFingerprinting(key, List.copyOf(ring));
  }

  /**
   * {@link #withPreviousKeys(List)} with keys given as text (their UTF-8 bytes).
   *
   * @param previousKeys the earlier keys, newest first, each at least {@value #MIN_KEY_BYTES} bytes
   *     in UTF-8
   */
  public RequestFingerprinting withPreviousTextKeys(List<String> previousKeys) {
    if (previousKeys == null) {
      throw missingKeys();
    }
    List<byte[]> keys = new java.util.ArrayList<>(previousKeys.size());
    for (int i = 0; i < previousKeys.size(); i++) {
      String previousKey = previousKeys.get(i);
      if (previousKey == null) {
        throw missingKey(i);
      }
      keys.add(previousKey.getBytes(StandardCharsets.UTF_8));
    }
    return withPreviousKeys(keys);
  }

  /**
   * The property the keys usually come from, named so that an operator who left it empty in a
   * secret store finds it; the message never shows a key.
   */
  private static final String PREVIOUS_KEYS_PROPERTY =
      "outbox.idempotency.http.fingerprint.previous-keys";

  private static IllegalArgumentException missingKeys() {
    return new IllegalArgumentException(
        PREVIOUS_KEYS_PROPERTY + " must not be null; pass an empty list for no previous keys");
  }

  private static IllegalArgumentException missingKey(int index) {
    return new IllegalArgumentException(
        PREVIOUS_KEYS_PROPERTY
            + "["
            + index
            + "] (previous fingerprint key #"
            + (index + 1)
            + ") is missing (null)");
  }

  /** Whether this is keyed (HMAC). */
  public boolean isKeyed() {
    return key != null;
  }

  /** How many previous keys are still accepted (0 without rotation). */
  public int previousKeyCount() {
    return previous.size();
  }

  /** One single-key fingerprinting per previous key, newest first. */
  List<RequestFingerprinting> previous() {
    return previous;
  }

  private static SecretKeySpec secret(String name, byte[] key) {
    if (key == null || key.length < MIN_KEY_BYTES) {
      throw new IllegalArgumentException(
          name
              + " must have at least "
              + MIN_KEY_BYTES
              + " bytes but has "
              + (key == null ? 0 : key.length));
    }
    return new SecretKeySpec(Arrays.copyOf(key, key.length), HMAC);
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
    if (key == null) {
      return "SHA-256";
    }
    return previous.isEmpty()
        ? "HMAC-SHA256 (key hidden)"
        : "HMAC-SHA256 (key hidden, " + previous.size() + " previous accepted)";
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
