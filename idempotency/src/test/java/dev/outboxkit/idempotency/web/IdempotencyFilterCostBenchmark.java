package dev.outboxkit.idempotency.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.idempotency.IdempotencyKey;
import dev.outboxkit.idempotency.ResultCodec;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import jakarta.servlet.FilterChain;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.web.util.ContentCachingResponseWrapper;

/**
 * Where the filter's added time goes (issue 23): the whole filter over a real MariaDB, the same
 * transaction without it, {@code Idempotency.execute} alone, and the filter's Java pieces one by
 * one, each as microseconds per call (medians of interleaved calls). Prints {@code
 * [idempotency-cost]} lines; {@code -Didempotency.cost.iterations=N} (default 300) sets the count,
 * {@code -Didempotency.cost.only=prefix} keeps only the pieces whose names start so.
 */
@ServerTest
class IdempotencyFilterCostBenchmark {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mariadb();

  private static final String FINGERPRINT_KEY = "cost-fingerprint-key-0123456789abcdef";
  private static final byte[] BODY =
      "{\"account\":\"acc-latency\",\"amountMinor\":1}".getBytes(StandardCharsets.UTF_8);

  private static SingleConnectionDataSource pooled;

  @BeforeAll
  static void oneConnection() {
    // One connection reused, as a pool would hand out: no connect per call in the figures.
    pooled = new SingleConnectionDataSource();
    pooled.setUrl(db.jdbcUrl());
    pooled.setUsername(db.database().username());
    pooled.setPassword(db.database().password());
    pooled.setSuppressClose(true);
  }

  @AfterAll
  static void close() {
    pooled.destroy();
  }

  @Test
  void reportsWhereTheFiltersTimeGoes() throws Exception {
    FilterHarness harness = new FilterHarness(pooled);
    RequestFingerprinting hmac = RequestFingerprinting.hmacSha256(FINGERPRINT_KEY);
    IdempotencyFilterSettings settings =
        IdempotencyFilterSettings.defaults(hmac).withPathPatterns(List.of("/payments/**"));
    IdempotencyFilter filter = harness.filter(settings);
    TransactionTemplate transactions =
        new TransactionTemplate(new DataSourceTransactionManager(pooled));
    ResultCodec codec = ResultCodec.json();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    FilterHarness.Handler handler = new FilterHarness.Handler(201);
    StoredResponse response =
        new StoredResponse(
            201,
            Map.of("Content-Type", List.of("application/json"), "Location", List.of("/p/1")),
            "{\"id\":\"payment-1\",\"pad\":\"\"}".getBytes(StandardCharsets.UTF_8));

    // The handler's own write, as in the HTTP tests: without it the plain transaction would commit
    // nothing and its commit would cost less than a real handler's.
    harness.jdbc.execute(
        "CREATE TABLE IF NOT EXISTS idempotency_cost_probe"
            + " (id VARCHAR(64) PRIMARY KEY, amount_minor BIGINT NOT NULL)");
    Runnable write =
        () ->
            harness.jdbc.update(
                "INSERT INTO idempotency_cost_probe (id, amount_minor) VALUES (?, 1)",
                UUID.randomUUID().toString());
    Map<String, Piece> pieces = new LinkedHashMap<>();
    // Over the database.
    pieces.put(
        "transaction + handler (one INSERT), no filter",
        () ->
            transactions.executeWithoutResult(
                status -> {
                  write.run();
                  try {
                    handler.doFilter(request(), new MockHttpServletResponse());
                  } catch (Exception e) {
                    throw new IllegalStateException(e);
                  }
                }));
    pieces.put(
        "transaction + Idempotency.execute (the INSERT inside), no HTTP work",
        () ->
            transactions.execute(
                status ->
                    harness.idempotency.execute(
                        IdempotencyKey.of("alice", UUID.randomUUID().toString()),
                        "f".repeat(64),
                        List.of(),
                        StoredResponse.class,
                        () -> {
                          write.run();
                          return response;
                        })));
    FilterChain selectingHandler =
        (request, servletResponse) -> {
          write.run();
          handler.doFilter(request, servletResponse);
        };
    pieces.put(
        "whole filter (handler: one INSERT + writes the response)",
        () -> {
          MockHttpServletResponse out = FilterHarness.send(filter, request(), selectingHandler);
          if (out.getStatus() != 201) {
            throw new IllegalStateException("status " + out.getStatus());
          }
        });
    // The filter's Java pieces, no database.
    pieces.put(
        "fingerprint: RequestFingerprinting.start() alone (Mac.getInstance + init)", hmac::start);
    pieces.put(
        "fingerprint: RequestFingerprints.ofBody (HMAC-SHA256, 42-byte body)",
        () -> RequestFingerprints.ofBody(hmac, request(), BODY));
    pieces.put(
        "underPreviousKeys (no previous keys)",
        () -> RequestFingerprints.underPreviousKeys(hmac, p -> "x"));
    int limit = IdempotencyFilterSettings.defaults(hmac).maxBodyBytes();
    pieces.put(
        "body read as on main 739a098: readNBytes(limit + 1), limit 1 MB",
        () -> {
          MockHttpServletRequest request = request();
          try (InputStream in = request.getInputStream()) {
            in.readNBytes(limit + 1);
          }
        });
    pieces.put(
        "body read now: IdempotencyFilter.readBody, limit 1 MB",
        () -> IdempotencyFilter.readBody(request(), limit));
    pieces.put(
        "body read + CachedBodyRequest + handler reads it",
        () -> {
          MockHttpServletRequest request = request();
          byte[] body;
          try (InputStream in = request.getInputStream()) {
            body = in.readNBytes(settings.maxBodyBytes() + 1);
          }
          new CachedBodyRequest(request, body).getInputStream().readAllBytes();
        });
    pieces.put(
        "response capture + stored headers + copyBodyToResponse",
        () -> {
          MockHttpServletResponse out = new MockHttpServletResponse();
          ContentCachingResponseWrapper capture = new ContentCachingResponseWrapper(out);
          handler.doFilter(request(), capture);
          Map<String, List<String>> headers = new LinkedHashMap<>();
          for (String name : settings.replayedHeaders()) {
            List<String> values = new ArrayList<>(capture.getHeaders(name));
            if (!values.isEmpty()) {
              headers.put(name, values);
            }
          }
          new StoredResponse(capture.getStatus(), headers, capture.getContentAsByteArray());
          capture.copyBodyToResponse();
        });
    pieces.put(
        "handler alone into a plain response",
        () -> handler.doFilter(request(), new MockHttpServletResponse()));
    pieces.put(
        "result codec: JSON encode of the StoredResponse",
        () -> codec.encode(IdempotencyKey.of("alice", "k"), response));
    pieces.put(
        "IdempotencyKey.of + UUID.randomUUID",
        () -> IdempotencyKey.of("alice", UUID.randomUUID().toString()));
    pieces.put(
        "Counter.builder(...).register per call (as execute counts its outcome)",
        () ->
            Counter.builder("idempotency.requests")
                .description("Idempotent operations by outcome")
                .tag("outcome", "executed")
                .register(registry)
                .increment());
    Counter cached =
        Counter.builder("idempotency.requests")
            .description("Idempotent operations by outcome")
            .tag("outcome", "executed")
            .register(registry);
    pieces.put("a counter looked up once, incremented per call", cached::increment);
    pieces.put("new MockHttpServletRequest (the benchmark's own cost)", () -> request());

    // -Didempotency.cost.only=whole: only the pieces whose names start so (e.g. under a profiler).
    String only = System.getProperty("idempotency.cost.only", "");
    pieces.keySet().removeIf(name -> !name.startsWith(only));
    int iterations = Integer.getInteger("idempotency.cost.iterations", 300);
    int warmUp = Math.max(100, iterations / 2);
    Map<String, long[]> times = new LinkedHashMap<>();
    Map<String, long[]> allocated = new LinkedHashMap<>();
    pieces.keySet().forEach(name -> times.put(name, new long[iterations]));
    pieces.keySet().forEach(name -> allocated.put(name, new long[iterations]));
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long thread = Thread.currentThread().getId();
    List<String> names = new ArrayList<>(pieces.keySet());
    for (int i = -warmUp; i < iterations; i++) {
      // Rotate the order, so no piece always follows the same one.
      for (int j = 0; j < names.size(); j++) {
        String name = names.get((i + warmUp + j) % names.size());
        Piece piece = pieces.get(name);
        int repeat = name.startsWith("transaction") || name.startsWith("whole") ? 1 : 20;
        long bytes0 = threads.getThreadAllocatedBytes(thread);
        long t0 = System.nanoTime();
        for (int r = 0; r < repeat; r++) {
          piece.run();
        }
        long elapsed = (System.nanoTime() - t0) / repeat;
        long bytes = (threads.getThreadAllocatedBytes(thread) - bytes0) / repeat;
        if (i >= 0) {
          times.get(name)[i] = elapsed;
          allocated.get(name)[i] = bytes;
        }
      }
    }
    times.forEach(
        (name, t) -> {
          Arrays.sort(t);
          long[] a = allocated.get(name);
          Arrays.sort(a);
          System.out.printf(
              "[idempotency-cost] %s: p50 %.1f µs, p90 %.1f µs, %d bytes allocated (p50; %d calls)%n",
              name, t[t.length / 2] / 1e3, t[t.length * 9 / 10] / 1e3, a[a.length / 2], t.length);
        });
    Integer keys =
        harness.jdbc.queryForObject("SELECT COUNT(*) FROM idempotency_key", Integer.class);
    assertThat(keys).isGreaterThan(0);
  }

  private static MockHttpServletRequest request() {
    MockHttpServletRequest request =
        FilterHarness.post(UUID.randomUUID().toString(), "", "alice", null);
    request.setContent(BODY);
    return request;
  }

  @FunctionalInterface
  private interface Piece {
    void run() throws Exception;
  }
}
