package dev.outboxkit.idempotency.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.outboxkit.idempotency.Idempotency;
import dev.outboxkit.idempotency.IdempotencyDefaults;
import dev.outboxkit.idempotency.IdempotencySchema;
import dev.outboxkit.outbox.NoActiveTransactionException;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import dev.outboxkit.outbox.spi.OutboxDialect;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import jakarta.servlet.FilterChain;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.DataSourceUtils;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.web.util.UriUtils;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Fuzz test of the HTTP {@code Idempotency-Key} filter: any method, path, query, key header (none,
 * several, quoted, any text), client header, content type, declared length, body and form
 * parameters, driven through Spring's {@link MockHttpServletRequest} and a real key table (H2 in
 * memory, Spring transactions). Kept inputs under {@code IdempotencyFilterFuzzTestsInputs/}; {@code
 * JAZZER_FUZZ=1} fuzzes (docs/testing.md).
 *
 * <p>Properties: the filter never throws and never answers 5xx; its own answers are RFC 9457
 * problems whose {@code status} is the response status; the handler runs at most once and sees the
 * exact body the client sent; a stored response is replayed byte for byte, without running the
 * handler again.
 */
@Tag("fuzz")
class IdempotencyFilterFuzzTests {

  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final int MAX_BODY = 512;
  private static final List<String> METHODS =
      List.of("POST", "PATCH", "PUT", "GET", "DELETE", "post", "Patch");
  private static final List<String> CONTENT_TYPES =
      List.of(
          "application/json",
          "application/json; charset=UTF-8",
          "text/plain; charset=ISO-8859-1",
          "application/x-www-form-urlencoded",
          "APPLICATION/X-WWW-FORM-URLENCODED; charset=UTF-8",
          "multipart/form-data; boundary=x",
          "text/plain; charset=\"no-such-charset\"",
          "application/octet-stream");

  private static JdbcDataSource dataSource;
  private static IdempotencyFilter filter;

  @BeforeAll
  static void filterOverAKeyTable() throws SQLException {
    dataSource = new JdbcDataSource();
    dataSource.setURL("jdbc:h2:mem:idempotency-filter-fuzz;DB_CLOSE_DELAY=-1");
    OutboxDialect dialect;
    try (Connection connection = dataSource.getConnection()) {
      dialect = OutboxDialect.detect(connection);
      IdempotencySchema.create(
          connection,
          dialect,
          OutboxTable.of(IdempotencyDefaults.KEY_TABLE),
          OutboxTable.of(IdempotencyDefaults.INBOX_TABLE));
    }
    Idempotency idempotency =
        Idempotency.builder().connectionProvider(new SpringTransactions()).dialect(dialect).build();
    IdempotencyFilterSettings settings =
        new IdempotencyFilterSettings(
            "Idempotency-Key",
            List.of("/payments/**"),
            Set.of("POST", "PATCH"),
            IdempotencyScopeResolver.header("X-Client"),
            false,
            MAX_BODY,
            IdempotencyFilterSettings.DEFAULT_MAX_STORED_RESPONSE_BYTES,
            List.of("Content-Type", "Location"),
            CacheableResponses.DEFAULT,
            RequestFingerprinting.hmacSha256("fuzz-fingerprint-key-0123456789abcdef"));
    filter =
        new IdempotencyFilter(
            idempotency,
            new DataSourceTransactionManager(dataSource),
            settings,
            request -> null,
            new SimpleMeterRegistry());
  }

  @FuzzTest(maxDuration = "90s")
  void neverAnswers5xxRunsTheHandlerOnceAndReplaysFaithfully(FuzzedDataProvider data)
      throws Exception {
    try (Connection connection = dataSource.getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute("DELETE FROM " + IdempotencyDefaults.KEY_TABLE);
    }
    Request request = request(data);

    Handler handler = new Handler();
    MockHttpServletResponse first = send(request, handler);
    assertSane(first);
    assertThat(handler.runs.get()).as("handler runs").isLessThanOrEqualTo(1);
    if (handler.runs.get() == 1 && !request.isForm()) {
      assertThat(handler.body.get()).as("the handler sees the body sent").isEqualTo(request.body);
    }
    if (handler.runs.get() == 0 || first.getStatus() != 201) {
      return;
    }

    Handler again = new Handler();
    MockHttpServletResponse second = send(request, again);
    assertSane(second);
    if (filterApplies(request)) {
      // The filter stored the 201 with the key: the same request again is a replay.
      assertThat(again.runs).as("a stored response is not made twice").hasValue(0);
      assertThat(second.getStatus()).isEqualTo(201);
      assertThat(second.getHeader(IdempotencyFilterSettings.REPLAYED_HEADER)).isEqualTo("true");
      assertThat(second.getContentAsByteArray()).isEqualTo(first.getContentAsByteArray());
      assertThat(second.getHeader("Location")).isEqualTo(first.getHeader("Location"));
    }
  }

  private static boolean filterApplies(Request request) {
    // The configured path pattern and methods, with a key: a 201 then means the key was accepted.
    return request.keys.size() > 0
        && request.uri.startsWith("/payments/")
        && Set.of("POST", "PATCH").contains(request.method.toUpperCase(java.util.Locale.ROOT));
  }

  private static MockHttpServletResponse send(Request spec, Handler handler) throws Exception {
    MockHttpServletRequest request = new MockHttpServletRequest(spec.method, spec.uri);
    request.setQueryString(spec.query);
    spec.keys.forEach(key -> request.addHeader("Idempotency-Key", key));
    if (spec.client != null) {
      request.addHeader("X-Client", spec.client);
    }
    if (spec.contentType != null) {
      request.setContentType(spec.contentType);
    }
    request.setContent(spec.body);
    spec.parameters.forEach(request::addParameter);
    if (spec.declaredLength >= 0) {
      // A client may declare a length that does not match what it sends.
      request.addHeader("Content-Length", spec.declaredLength);
    }
    MockHttpServletResponse response = new MockHttpServletResponse();
    filter.doFilter(request, response, handler);
    return response;
  }

  private static void assertSane(MockHttpServletResponse response) throws Exception {
    assertThat(response.getStatus()).as("never a 5xx").isLessThan(500);
    if (MediaTypes.isProblem(response.getContentType())) {
      JsonNode problem = JSON.readTree(response.getContentAsByteArray());
      assertThat(problem.get("status").asInt()).isEqualTo(response.getStatus());
      assertThat(problem.get("title").asString()).isNotBlank();
      assertThat(response.getStatus()).isIn(400, 403, 409, 413, 422);
    }
  }

  private static Request request(FuzzedDataProvider data) {
    String method = data.pickValue(METHODS);
    List<String> segments = new ArrayList<>();
    int count = data.consumeInt(0, 3);
    for (int i = 0; i < count; i++) {
      // What a servlet container passes on: each segment validly percent-encoded.
      segments.add(UriUtils.encodePathSegment(data.consumeString(20), StandardCharsets.UTF_8));
    }
    String uri = (data.consumeBoolean() ? "/payments/" : "/other/") + String.join("/", segments);
    String query =
        data.consumeBoolean()
            ? null
            : UriUtils.encodeQuery(data.consumeString(30), StandardCharsets.UTF_8);
    List<String> keys = new ArrayList<>();
    int keyCount = data.consumeInt(0, 2);
    for (int i = 0; i < keyCount; i++) {
      keys.add(
          data.consumeBoolean() ? "\"" + data.consumeString(40) + "\"" : data.consumeString(300));
    }
    String client = data.consumeBoolean() ? null : data.consumeString(300);
    String contentType =
        switch (data.consumeInt(0, 2)) {
          case 0 -> null;
          case 1 -> data.pickValue(CONTENT_TYPES);
          default -> data.consumeString(60);
        };
    int declaredLength = data.consumeBoolean() ? -1 : data.consumeInt(0, 2 * MAX_BODY);
    Map<String, String> parameters = new java.util.LinkedHashMap<>();
    int parameterCount = data.consumeInt(0, 2);
    for (int i = 0; i < parameterCount; i++) {
      parameters.put(data.consumeString(10), data.consumeString(30));
    }
    byte[] body = data.consumeRemainingAsBytes();
    return new Request(
        method, uri, query, keys, client, contentType, declaredLength, parameters, body);
  }

  /** One fuzzed request, sent once and, when it was stored, again. */
  private record Request(
      String method,
      String uri,
      String query,
      List<String> keys,
      String client,
      String contentType,
      int declaredLength,
      Map<String, String> parameters,
      byte[] body) {

    boolean isForm() {
      return contentType != null
          && contentType
              .toLowerCase(java.util.Locale.ROOT)
              .startsWith("application/x-www-form-urlencoded");
    }
  }

  /** A handler like a controller's: reads the body, answers 201 with a body and a Location. */
  private static final class Handler implements FilterChain {
    final AtomicInteger runs = new AtomicInteger();
    final AtomicReference<byte[]> body = new AtomicReference<>();

    @Override
    public void doFilter(
        jakarta.servlet.ServletRequest request, jakarta.servlet.ServletResponse response)
        throws java.io.IOException {
      runs.incrementAndGet();
      byte[] bytes = request.getInputStream().readAllBytes();
      body.set(bytes);
      HttpServletResponse http = (HttpServletResponse) response;
      http.setStatus(201);
      http.setContentType("application/json");
      http.setHeader("Location", "/payments/" + runs.get());
      http.getOutputStream()
          .write(
              ("{\"bytes\":"
                      + bytes.length
                      + ",\"uri\":"
                      + JSON.writeValueAsString(((HttpServletRequest) request).getRequestURI())
                      + "}")
                  .getBytes(StandardCharsets.UTF_8));
    }
  }

  /** Problem details by content type, parameters ignored. */
  private static final class MediaTypes {
    static boolean isProblem(String contentType) {
      return contentType != null && contentType.startsWith("application/problem+json");
    }
  }

  /** Joins the Spring-managed transaction, as the starter's provider does. */
  private static final class SpringTransactions implements ConnectionProvider {
    @Override
    public <T> T withTransactionConnection(ConnectionCallback<T> work) throws SQLException {
      if (!TransactionSynchronizationManager.isActualTransactionActive()) {
        throw new NoActiveTransactionException("no Spring transaction");
      }
      Connection connection = DataSourceUtils.getConnection(dataSource);
      try {
        return work.apply(connection);
      } finally {
        DataSourceUtils.releaseConnection(connection, dataSource);
      }
    }
  }
}
