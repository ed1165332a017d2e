package dev.outboxkit.idempotency.web;

import dev.outboxkit.idempotency.Idempotency;
import dev.outboxkit.idempotency.IdempotencyKey;
import dev.outboxkit.idempotency.IdempotencyKeyInFlightException;
import dev.outboxkit.idempotency.IdempotencyOutcome;
import dev.outboxkit.idempotency.IdempotencyResultUnreadableException;
import dev.outboxkit.idempotency.InvalidIdempotencyKeyException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.server.PathContainer;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.util.ContentCachingResponseWrapper;
import org.springframework.web.util.pattern.PathPattern;
import org.springframework.web.util.pattern.PathPatternParser;
import tools.jackson.databind.json.JsonMapper;

/**
 * HTTP {@code Idempotency-Key} for Spring MVC, after the IETF httpapi draft and Stripe.
 *
 * <p>For an idempotent request (an {@link Idempotent} handler, or a configured path pattern and
 * method) the filter opens a transaction, claims the key, runs the rest of the chain (the handler's
 * {@code @Transactional} joins this transaction), and stores the response with the key, so the
 * response, the business writes and any outbox events commit together. Then:
 *
 * <ul>
 *   <li>missing key where required, or a malformed key: 400;
 *   <li>a key but no caller to scope it (no principal, nothing the resolver knows): 403;
 *   <li>body over the limit: 413;
 *   <li>a multipart body (its parts cannot be both fingerprinted and parsed by the handler): 415;
 *   <li>a stored response that can no longer be decoded (codec keys changed): 500 saying the work
 *       was done, logged with the key;
 *   <li>same key, different request (method, path, query or body): 422, handler not run;
 *   <li>same key while the first request is still running (past the lock timeout): 409 with {@code
 *       Retry-After};
 *   <li>same key again: the stored status, body and chosen headers, plus {@code
 *       Idempotent-Replayed: true}, handler not run.
 * </ul>
 *
 * <p>Only cacheable responses are stored (by default 2xx, 3xx and 4xx except 401, 403, 407, 409 and
 * 429). Any other response, or one whose transaction was marked rollback-only, rolls the
 * transaction back, key included, so a retry runs the handler again. A response body larger than
 * the configured limit is not stored (the key and status are, so the work never runs twice); the
 * response says so in {@code Idempotent-Body-Stored: false}. Errors are RFC 9457 problem details.
 * The key is scoped to the caller by an {@link IdempotencyScopeResolver} (by default the
 * authenticated principal); a keyed request whose caller is unknown is refused with 403 unless the
 * shared anonymous scope was chosen. Fingerprints are HMAC-SHA256 under a secret key, or SHA-256
 * when chosen explicitly ({@link RequestFingerprinting}). Form posts are fingerprinted by their
 * parameters, each name and value length-prefixed, so no newline or {@code =} in a value makes two
 * forms alike.
 */
public final class IdempotencyFilter extends OncePerRequestFilter {

  private static final Logger log = LoggerFactory.getLogger(IdempotencyFilter.class);

  private static final String PROBLEM_JSON = "application/problem+json";

  private final Idempotency idempotency;
  private final TransactionTemplate transactions;
  private final IdempotencyFilterSettings settings;
  private final Function<HttpServletRequest, @Nullable Idempotent> annotationLookup;
  private final List<PathPattern> patterns;
  private final MeterRegistry registry;
  private final JsonMapper json = JsonMapper.builder().build();
  private final Counter notStored;

  /**
   * @param idempotency records keys and responses
   * @param transactionManager the transaction manager of the DataSource the handlers write to
   * @param settings header name, paths, limits
   * @param annotationLookup finds the {@link Idempotent} annotation of the handler a request maps
   *     to
   * @param registry where {@code idempotency.requests{outcome=rejected}} is counted
   */
  public IdempotencyFilter(
      Idempotency idempotency,
      PlatformTransactionManager transactionManager,
      IdempotencyFilterSettings settings,
      Function<HttpServletRequest, @Nullable Idempotent> annotationLookup,
      MeterRegistry registry) {
    this.idempotency = idempotency;
    this.transactions = new TransactionTemplate(transactionManager);
    this.settings = settings;
    this.annotationLookup = annotationLookup;
    this.patterns =
        settings.pathPatterns().stream().map(PathPatternParser.defaultInstance::parse).toList();
    this.registry = registry;
    this.notStored =
        Counter.builder("idempotency.responses.not.stored")
            .description("Responses whose body was too large to store with their key")
            .tag("reason", "too-large")
            .register(registry);
  }

  @Override
  protected void doFilterInternal(
      HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    Boolean required = requirement(request);
    if (required == null) {
      chain.doFilter(request, response);
      return;
    }
    String header = request.getHeader(settings.headerName());
    if (header == null) {
      if (required) {
        reject(
            response,
            request,
            400,
            "Idempotency-Key missing",
            "This endpoint requires an "
                + settings.headerName()
                + " header: a unique key per"
                + " operation, reused only when retrying that operation");
      } else {
        chain.doFilter(request, response);
      }
      return;
    }
    String scope = settings.scopeResolver().resolve(request);
    if (scope == null) {
      if (!settings.sharedAnonymousScope()) {
        // Without a caller, one client could receive another's stored response or pre-claim its
        // key: refuse rather than share.
        log.debug(
            "Refused an Idempotency-Key on {}: no caller to scope it", request.getRequestURI());
        reject(
            response,
            request,
            403,
            "Idempotency caller unknown",
            "This "
                + settings.headerName()
                + " cannot be scoped to a caller: the request is not authenticated"
                + " (and names no client). Authenticate the request and retry with the same key.");
        return;
      }
      scope = ClientScopes.ANONYMOUS;
    }
    IdempotencyKey key;
    try {
      key = IdempotencyKey.of(scope, unquote(header.trim()));
    } catch (InvalidIdempotencyKeyException e) {
      reject(response, request, 400, "Invalid Idempotency-Key", e.getMessage());
      return;
    }
    if (isMultipart(request)) {
      // Its raw body would be read to fingerprint it, leaving the container nothing to parse the
      // parts from: the handler would run without them and its answer be stored under the key.
      reject(
          response,
          request,
          415,
          "Multipart not idempotent",
          "A request with an "
              + settings.headerName()
              + " cannot be multipart: its parts could not be both fingerprinted and handed to the"
              + " handler. Send the content as JSON or a form (application/x-www-form-urlencoded),"
              + " or upload without a key and name the upload in a keyed request.");
      return;
    }
    if (request.getContentLengthLong() > settings.maxBodyBytes()) {
      rejectTooLarge(request, response);
      return;
    }
    if (isForm(request)) {
      // The container parses form bodies from the stream itself (for @RequestParam), and filters
      // such as CSRF may have done so already: fingerprint the parsed parameters instead.
      RequestFingerprinting algorithm = fingerprinting();
      run(
          key,
          RequestFingerprints.ofForm(algorithm, request),
          RequestFingerprints.underPreviousKeys(
              algorithm, previous -> RequestFingerprints.ofForm(previous, request)),
          request,
          response,
          chain);
      return;
    }
    byte[] body = readBody(request);
    if (body == null) {
      rejectTooLarge(request, response);
      return;
    }
    RequestFingerprinting algorithm = fingerprinting();
    run(
        key,
        RequestFingerprints.ofBody(algorithm, request, body),
        RequestFingerprints.underPreviousKeys(
            algorithm, previous -> RequestFingerprints.ofBody(previous, request, body)),
        new CachedBodyRequest(request, body),
        response,
        chain);
  }

  private void rejectTooLarge(HttpServletRequest request, HttpServletResponse response)
      throws IOException {
    reject(
        response,
        request,
        413,
        "Request body too large",
        "Idempotent requests may carry at most " + settings.maxBodyBytes() + " bytes");
  }

  private void run(
      IdempotencyKey key,
      String fingerprint,
      Collection<String> earlierFingerprints,
      HttpServletRequest request,
      HttpServletResponse response,
      FilterChain chain)
      throws ServletException, IOException {
    CapturingResponse capture = new CapturingResponse(response);
    IdempotencyOutcome<StoredResponse> outcome;
    try {
      outcome =
          transactions.execute(
              status ->
                  idempotency.execute(
                      key,
                      fingerprint,
                      earlierFingerprints,
                      StoredResponse.class,
                      () -> {
                        try {
                          chain.doFilter(request, capture);
                        } catch (IOException | ServletException e) {
                          throw new ChainFailure(e);
                        }
                        if (request.isAsyncStarted()) {
                          // The response would be written later, outside this transaction.
                          throw new IllegalStateException(
                              "@Idempotent handlers must answer synchronously; "
                                  + request.getRequestURI()
                                  + " started async processing (Callable, DeferredResult, ...)");
                        }
                        // sendError bodies are rendered later by an error dispatch this filter
                        // does not see: such a response cannot be replayed faithfully.
                        if (capture.errorSent
                            || !settings.cacheable().isCacheable(capture.getStatus())
                            || status.isRollbackOnly()) {
                          throw new NotStored();
                        }
                        return stored(capture, request);
                      }));
    } catch (IdempotencyResultUnreadableException e) {
      // Neither the bytes nor the codec's message (which may quote them) reach the log.
      log.error(
          "The stored response for idempotency key '{}' in scope '{}' cannot be decoded ({}):"
              + " retries with this key get 500 until it expires, and the work is not run again."
              + " Check the result codec's keys (removed, or encryption turned on later)",
          key.key(),
          key.scope(),
          e.getCause() == null ? e.getClass().getName() : e.getCause().getClass().getName());
      problem(
          response,
          request,
          500,
          "Stored response unreadable",
          "The request with this "
              + settings.headerName()
              + " was processed, but its stored response can no longer be read, so it cannot be"
              + " replayed. Retrying with this key will not help: look up the outcome of the"
              + " operation, and use a new key only for a new operation.");
      return;
    } catch (IdempotencyKeyInFlightException e) {
      // The database rolled the transaction back while it waited for the key (e.g. a deadlock).
      response.setHeader("Retry-After", "1");
      problem(response, request, 409, "Request in progress", e.getMessage());
      return;
    } catch (NotStored e) {
      // Rolled back, key included: a retry will run the handler again.
      capture.copyBodyToResponse();
      return;
    } catch (ChainFailure e) {
      if (e.getCause() instanceof ServletException servlet) {
        throw servlet;
      }
      throw (IOException) e.getCause();
    }
    if (outcome instanceof IdempotencyOutcome.Executed<StoredResponse>) {
      capture.copyBodyToResponse();
    } else if (outcome instanceof IdempotencyOutcome.Replayed<StoredResponse> replayed) {
      replay(response, replayed.result());
    } else if (outcome instanceof IdempotencyOutcome.Mismatch<StoredResponse>) {
      problem(
          response,
          request,
          422,
          "Idempotency-Key reused",
          "This "
              + settings.headerName()
              + " was already used for a different request"
              + " (method, path or body); use a new key for a new operation");
    } else {
      response.setHeader("Retry-After", "1");
      problem(
          response,
          request,
          409,
          "Request in progress",
          "A request with this "
              + settings.headerName()
              + " is still being processed;"
              + " retry after it completes");
    }
  }

  private RequestFingerprinting fingerprinting() {
    RequestFingerprinting fingerprinting = settings.fingerprinting();
    if (fingerprinting == null) {
      throw new IllegalStateException(
          "No request fingerprinting configured: choose HMAC-SHA256 with a key or SHA-256");
    }
    return fingerprinting;
  }

  /** {@code null}: not idempotent; otherwise whether the key is required. */
  private @Nullable Boolean requirement(HttpServletRequest request) {
    Idempotent annotation = annotationLookup.apply(request);
    if (annotation != null) {
      return annotation.required();
    }
    if (!patterns.isEmpty()
        && settings.methods().contains(request.getMethod().toUpperCase(Locale.ROOT))) {
      PathContainer path =
          PathContainer.parsePath(
              request.getRequestURI().substring(request.getContextPath().length()));
      for (PathPattern pattern : patterns) {
        if (pattern.matches(path)) {
          return true;
        }
      }
    }
    return null;
  }

  /** The IETF draft sends the key as a structured-field string ({@code "..."}); Stripe does not. */
  private static String unquote(String value) {
    if (value.length() < 2 || !value.startsWith("\"") || !value.endsWith("\"")) {
      return value;
    }
    // RFC 8941 sf-string: only \" and \\ are escapes.
    return value.substring(1, value.length() - 1).replace("\\\"", "\"").replace("\\\\", "\\");
  }

  private byte @Nullable [] readBody(HttpServletRequest request) throws IOException {
    return readBody(request, settings.maxBodyBytes());
  }

  /**
   * The whole body, or {@code null} when it has more than {@code max} bytes. A declared length is
   * read into an array of exactly that size: readNBytes of the limit allocates a buffer of up to 8
   * KB (16 KB on newer JDKs) and copies the body out of it, for every request (8.2 KB and 1.5 µs
   * per request, issue 23). Bytes after the declared length, which a container should not deliver,
   * are still read and counted, so the result is the same either way.
   */
  static byte @Nullable [] readBody(HttpServletRequest request, int max) throws IOException {
    long declared = request.getContentLengthLong();
    if (declared > max) {
      return null;
    }
    try (InputStream in = request.getInputStream()) {
      if (declared < 0) {
        byte[] body = in.readNBytes(max + 1);
        return body.length > max ? null : body;
      }
      byte[] body = in.readNBytes((int) declared);
      int next = in.read();
      if (next < 0) {
        return body;
      }
      // More than declared: keep reading to the limit, as without a declared length.
      byte[] rest = in.readNBytes(max - body.length);
      int length = body.length + 1 + rest.length;
      if (length > max) {
        return null;
      }
      byte[] all = java.util.Arrays.copyOf(body, length);
      all[body.length] = (byte) next;
      System.arraycopy(rest, 0, all, body.length + 1, rest.length);
      return all;
    }
  }

  private static boolean isMultipart(HttpServletRequest request) {
    String type = request.getContentType();
    return type != null && type.toLowerCase(Locale.ROOT).startsWith("multipart/");
  }

  private static boolean isForm(HttpServletRequest request) {
    String type = request.getContentType();
    return type != null
        && type.toLowerCase(Locale.ROOT).startsWith("application/x-www-form-urlencoded");
  }

  private StoredResponse stored(ContentCachingResponseWrapper capture, HttpServletRequest request) {
    int size = capture.getContentSize();
    if (size > settings.maxStoredResponseBytes()) {
      // Keep the key (the work committed and must never run twice) but not the body: the client
      // learns it now, and its retries get the status and headers without the body.
      log.warn(
          "Response to {} {} (status {}, {} bytes) is larger than the {} bytes stored with an"
              + " idempotency key: the key is kept, a replay carries no body",
          request.getMethod(),
          request.getRequestURI(),
          capture.getStatus(),
          size,
          settings.maxStoredResponseBytes());
      notStored.increment();
      capture.setHeader(IdempotencyFilterSettings.BODY_STORED_HEADER, "false");
      Map<String, List<String>> headers = new LinkedHashMap<>();
      for (String name : settings.replayedHeaders()) {
        List<String> values = new ArrayList<>(capture.getHeaders(name));
        if (!name.equalsIgnoreCase("Content-Type") && !values.isEmpty()) {
          headers.put(name, values);
        }
      }
      headers.put(IdempotencyFilterSettings.BODY_STORED_HEADER, List.of("false"));
      return new StoredResponse(capture.getStatus(), headers, new byte[0]);
    }
    Map<String, List<String>> headers = new LinkedHashMap<>();
    for (String name : settings.replayedHeaders()) {
      List<String> values = new ArrayList<>(capture.getHeaders(name));
      if (name.equalsIgnoreCase("Content-Type")
          && values.isEmpty()
          && capture.getContentType() != null) {
        values.add(capture.getContentType());
      }
      if (!values.isEmpty()) {
        headers.put(name, values);
      }
    }
    return new StoredResponse(capture.getStatus(), headers, capture.getContentAsByteArray());
  }

  private static void replay(HttpServletResponse response, @Nullable StoredResponse stored)
      throws IOException {
    if (stored == null) {
      throw new IllegalStateException("A stored idempotent response is missing");
    }
    response.setStatus(stored.status());
    stored
        .headers()
        .forEach((name, values) -> values.forEach(value -> response.addHeader(name, value)));
    response.setHeader(IdempotencyFilterSettings.REPLAYED_HEADER, "true");
    response.setContentLength(stored.body().length);
    response.getOutputStream().write(stored.body());
  }

  private void reject(
      HttpServletResponse response,
      HttpServletRequest request,
      int status,
      String title,
      String detail)
      throws IOException {
    Counter.builder("idempotency.requests")
        .description("Idempotent operations by outcome")
        .tag("outcome", "rejected")
        .register(registry)
        .increment();
    problem(response, request, status, title, detail);
  }

  private void problem(
      HttpServletResponse response,
      HttpServletRequest request,
      int status,
      String title,
      String detail)
      throws IOException {
    Map<String, Object> problem = new LinkedHashMap<>();
    problem.put(
        "type",
        "urn:outboxkit:problem:" + title.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-"));
    problem.put("title", title);
    problem.put("status", status);
    problem.put("detail", detail);
    problem.put("instance", request.getRequestURI());
    byte[] bytes = json.writeValueAsBytes(problem);
    response.setStatus(status);
    response.setContentType(PROBLEM_JSON);
    response.setContentLength(bytes.length);
    response.getOutputStream().write(bytes);
  }

  /** Caches the body (as its superclass does) and notices {@code sendError}. */
  private static final class CapturingResponse extends ContentCachingResponseWrapper {
    boolean errorSent;

    CapturingResponse(HttpServletResponse response) {
      super(response);
    }

    @Override
    public void sendError(int status) throws IOException {
      errorSent = true;
      super.sendError(status);
    }

    @Override
    public void sendError(int status, String message) throws IOException {
      errorSent = true;
      super.sendError(status, message);
    }
  }

  /** Carries the chain's checked exceptions out of the transaction callback. */
  private static final class ChainFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ChainFailure(Exception cause) {
      super(cause);
    }
  }

  /** Rolls the transaction back because the response is not to be stored. */
  private static final class NotStored extends RuntimeException {
    private static final long serialVersionUID = 1L;

    NotStored() {
      super(null, null, false, false);
    }
  }
}
