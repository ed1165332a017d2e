package dev.outboxkit.idempotency.web;

import jakarta.servlet.http.HttpServletRequest;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.AbstractCollection;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * What identifies a request for its idempotency key: a digest ({@link RequestFingerprinting},
 * HMAC-SHA256 or SHA-256) over method, path, query and body.
 *
 * <p>Form posts are fingerprinted by their parsed parameters (the container may have consumed the
 * body already). Each name and value is length-prefixed, names sorted, values in request order, so
 * no choice of characters in a name or value ({@code =}, {@code &}, newlines) can make two
 * different forms read alike. A form's digest input starts with a newline, which no method token
 * can, so a form and a raw body never share a fingerprint either.
 */
final class RequestFingerprints {

  private RequestFingerprints() {}

  /** The fingerprint of a request whose raw body was read. */
  static String ofBody(RequestFingerprinting algorithm, HttpServletRequest request, byte[] body) {
    RequestFingerprinting.Digest digest = algorithm.start();
    requestLine(digest, request);
    digest.update(body);
    return digest.hex();
  }

  /** The fingerprint of a form post, by its parsed parameters. */
  static String ofForm(RequestFingerprinting algorithm, HttpServletRequest request) {
    RequestFingerprinting.Digest digest = algorithm.start();
    digest.update("\nform\n".getBytes(StandardCharsets.UTF_8));
    requestLine(digest, request);
    for (Map.Entry<String, String[]> parameter :
        new TreeMap<>(request.getParameterMap()).entrySet()) {
      for (String value : parameter.getValue()) {
        lengthPrefixed(digest, parameter.getKey());
        lengthPrefixed(digest, value);
      }
    }
    return digest.hex();
  }

  /**
   * The same request's fingerprints under the previous keys of a rotated HMAC key, newest first;
   * empty without rotation. Computed on first use and then kept: they are needed only when a stored
   * fingerprint is not the current one (a key stored before the rotation, or a mismatch), so the
   * usual request pays for no HMAC beyond the current key's.
   */
  static Collection<String> underPreviousKeys(
      RequestFingerprinting algorithm, Function<RequestFingerprinting, String> fingerprint) {
    List<RequestFingerprinting> previous = algorithm.previous();
    if (previous.isEmpty()) {
      return List.of();
    }
    return new Lazy(previous, fingerprint);
  }

  /** The earlier fingerprints, computed when first read. Used by one request's thread. */
  private static final class Lazy extends AbstractCollection<String> {
    private final List<RequestFingerprinting> previous;
    private final Function<RequestFingerprinting, String> fingerprint;
    private @Nullable List<String> computed;

    Lazy(
        List<RequestFingerprinting> previous, Function<RequestFingerprinting, String> fingerprint) {
      this.previous = previous;
      this.fingerprint = fingerprint;
    }

    private List<String> computed() {
      List<String> result = computed;
      if (result == null) {
        result = previous.stream().map(fingerprint).toList();
        computed = result;
      }
      return result;
    }

    @Override
    public Iterator<String> iterator() {
      return computed().iterator();
    }

    @Override
    public int size() {
      // Known without computing any HMAC.
      return previous.size();
    }

    @Override
    public boolean contains(Object o) {
      return computed().contains(o);
    }
  }

  /** Method, path and query; none of them can hold a raw newline. */
  private static void requestLine(RequestFingerprinting.Digest digest, HttpServletRequest request) {
    digest.update(request.getMethod().getBytes(StandardCharsets.UTF_8));
    digest.update((byte) '\n');
    digest.update(request.getRequestURI().getBytes(StandardCharsets.UTF_8));
    String query = request.getQueryString();
    if (query != null) {
      digest.update((byte) '?');
      digest.update(query.getBytes(StandardCharsets.UTF_8));
    }
    digest.update((byte) '\n');
  }

  private static void lengthPrefixed(RequestFingerprinting.Digest digest, String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    digest.update((bytes.length + ":").getBytes(StandardCharsets.US_ASCII));
    digest.update(bytes);
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
    }
  }
}
