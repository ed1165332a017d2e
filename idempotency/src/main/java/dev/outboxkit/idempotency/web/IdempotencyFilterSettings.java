package dev.outboxkit.idempotency.web;

import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * How the {@link IdempotencyFilter} behaves. The Spring Boot starter fills it from {@code
 * outbox.idempotency.http.*}; how long a duplicate waits for the first request is the {@link
 * dev.outboxkit.idempotency.Idempotency}'s lock timeout. Start from {@link
 * #defaults(RequestFingerprinting)} and change what you need with the {@code with...} methods.
 *
 * @param headerName the request header holding the key; default {@code Idempotency-Key}
 * @param pathPatterns path patterns (Spring {@code PathPattern} syntax) that are idempotent without
 *     an annotation, e.g. {@code /payments/**}
 * @param methods the HTTP methods the path patterns apply to; default POST and PATCH
 * @param scopeResolver whose keys a request uses; default {@link
 *     IdempotencyScopeResolver#principal()}
 * @param sharedAnonymousScope what happens to a keyed request whose caller the resolver does not
 *     know: {@code false} (the default) refuses it with 403; {@code true} puts it in one scope
 *     shared by every such caller, so one of them can receive another's stored response. Choose
 *     {@code true} only when no response holds anything a caller may not see of another's
 * @param maxBodyBytes the largest request body; larger requests get 413
 * @param maxStoredResponseBytes the largest response body stored with its key; a larger response is
 *     sent normally, its key and status are kept (the work never runs twice) but not its body, and
 *     it carries {@link #BODY_STORED_HEADER}{@code : false}, as does its replay. Default 1 MiB
 * @param replayedHeaders the response headers stored and replayed; never credentials ({@code
 *     Set-Cookie}, {@code Authorization}, ...)
 * @param cacheable which responses are stored; others roll the transaction back so a retry runs
 *     again
 * @param fingerprinting how requests are fingerprinted; {@code null} only in the Spring starter
 *     before its start-up check refuses an application with idempotent endpoints but no choice
 */
public record IdempotencyFilterSettings(
    String headerName,
    List<String> pathPatterns,
    Set<String> methods,
    IdempotencyScopeResolver scopeResolver,
    boolean sharedAnonymousScope,
    int maxBodyBytes,
    int maxStoredResponseBytes,
    List<String> replayedHeaders,
    CacheableResponses cacheable,
    @Nullable RequestFingerprinting fingerprinting) {

  /** The header that marks a replayed response. */
  public static final String REPLAYED_HEADER = "Idempotent-Replayed";

  /**
   * The header ({@code false}) on a response whose body was too large to store with its key, and on
   * its replays (which then carry no body).
   */
  public static final String BODY_STORED_HEADER = "Idempotent-Body-Stored";

  /** The default {@code maxStoredResponseBytes}: 1 MiB. */
  public static final int DEFAULT_MAX_STORED_RESPONSE_BYTES = 1024 * 1024;

  /** Response headers that carry credentials or sessions and must never be replayed. */
  public static final Set<String> CREDENTIAL_HEADERS =
      Set.of("set-cookie", "set-cookie2", "authorization", "proxy-authorization", "cookie");

  /** Checks every value. */
  public IdempotencyFilterSettings {
    if (headerName == null || headerName.isBlank()) {
      throw new IllegalArgumentException("headerName must not be blank");
    }
    if (maxBodyBytes < 1) {
      throw new IllegalArgumentException("maxBodyBytes must be at least 1 but was " + maxBodyBytes);
    }
    if (maxStoredResponseBytes < 0) {
      throw new IllegalArgumentException(
          "maxStoredResponseBytes must not be negative but was " + maxStoredResponseBytes);
    }
    String credential = credentialHeader(replayedHeaders);
    if (credential != null) {
      throw new IllegalArgumentException(
          "replayedHeaders must not contain "
              + credential
              + ": a replay would hand one caller's session or credentials to whoever retries"
              + " the key");
    }
    pathPatterns = List.copyOf(pathPatterns);
    methods = Set.copyOf(methods);
    replayedHeaders = List.copyOf(replayedHeaders);
    java.util.Objects.requireNonNull(scopeResolver, "scopeResolver");
    java.util.Objects.requireNonNull(cacheable, "cacheable");
  }

  /**
   * The first of {@code headers} that carries credentials, or {@code null}.
   *
   * @param headers header names
   */
  public static @Nullable String credentialHeader(List<String> headers) {
    for (String header : headers) {
      if (CREDENTIAL_HEADERS.contains(header.strip().toLowerCase(Locale.ROOT))) {
        return header;
      }
    }
    return null;
  }

  /**
   * The defaults: {@code Idempotency-Key}, no path patterns, POST and PATCH, the principal as scope
   * and no shared anonymous scope, 1 MB request bodies, responses stored up to 1 MiB, {@code
   * Content-Type} and {@code Location} replayed, {@link CacheableResponses#DEFAULT}.
   *
   * @param fingerprinting how requests are fingerprinted (there is no default: choose HMAC with a
   *     key, or SHA-256 explicitly)
   */
  public static IdempotencyFilterSettings defaults(RequestFingerprinting fingerprinting) {
    return new IdempotencyFilterSettings(
        "Idempotency-Key",
        List.of(),
        Set.of("POST", "PATCH"),
        IdempotencyScopeResolver.principal(),
        false,
        1024 * 1024,
        DEFAULT_MAX_STORED_RESPONSE_BYTES,
        List.of("Content-Type", "Location"),
        CacheableResponses.DEFAULT,
        java.util.Objects.requireNonNull(fingerprinting, "fingerprinting"));
  }

  /** These settings with other path patterns. */
  public IdempotencyFilterSettings withPathPatterns(List<String> patterns) {
    return new IdempotencyFilterSettings(
        headerName,
        patterns,
        methods,
        scopeResolver,
        sharedAnonymousScope,
        maxBodyBytes,
        maxStoredResponseBytes,
        replayedHeaders,
        cacheable,
        fingerprinting);
  }

  /** These settings with another scope resolver. */
  public IdempotencyFilterSettings withScopeResolver(IdempotencyScopeResolver resolver) {
    return new IdempotencyFilterSettings(
        headerName,
        pathPatterns,
        methods,
        resolver,
        sharedAnonymousScope,
        maxBodyBytes,
        maxStoredResponseBytes,
        replayedHeaders,
        cacheable,
        fingerprinting);
  }

  /** These settings with the shared anonymous scope chosen or not. */
  public IdempotencyFilterSettings withSharedAnonymousScope(boolean shared) {
    return new IdempotencyFilterSettings(
        headerName,
        pathPatterns,
        methods,
        scopeResolver,
        shared,
        maxBodyBytes,
        maxStoredResponseBytes,
        replayedHeaders,
        cacheable,
        fingerprinting);
  }

  /** These settings with another limit for stored responses. */
  public IdempotencyFilterSettings withMaxStoredResponseBytes(int bytes) {
    return new IdempotencyFilterSettings(
        headerName,
        pathPatterns,
        methods,
        scopeResolver,
        sharedAnonymousScope,
        maxBodyBytes,
        bytes,
        replayedHeaders,
        cacheable,
        fingerprinting);
  }

  /** These settings with other replayed headers. */
  public IdempotencyFilterSettings withReplayedHeaders(List<String> headers) {
    return new IdempotencyFilterSettings(
        headerName,
        pathPatterns,
        methods,
        scopeResolver,
        sharedAnonymousScope,
        maxBodyBytes,
        maxStoredResponseBytes,
        headers,
        cacheable,
        fingerprinting);
  }
}
