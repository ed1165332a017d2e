package dev.outboxkit.spring.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.test.MutableClock;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;

/** The HTTP Idempotency-Key filter on a real server and database; one subclass per database. */
@SpringBootTest(
    classes = PaymentWebApplication.class,
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ServerTest
abstract class HttpIdempotencyContractTests {

  static void database(TestDatabaseExtension db, DynamicPropertyRegistry registry) {
    database(db, db::jdbcUrl, registry);
  }

  /** The same, connecting through {@code url} (e.g. a connection pooler in front of {@code db}). */
  static void database(
      TestDatabaseExtension db,
      java.util.function.Supplier<Object> url,
      DynamicPropertyRegistry registry) {
    registry.add("spring.datasource.url", url);
    registry.add("spring.datasource.username", () -> db.database().username());
    registry.add("spring.datasource.password", () -> db.database().password());
    registry.add("spring.datasource.hikari.maximum-pool-size", () -> "20");
    registry.add("spring.sql.init.mode", () -> "always");
    registry.add("spring.sql.init.schema-locations", () -> "classpath:web-payment-schema.sql");
    registry.add("spring.jpa.hibernate.ddl-auto", () -> "none");
    registry.add("outbox.store.auto-create", () -> "true");
    registry.add("outbox.idempotency.auto-create", () -> "true");
    registry.add("outbox.idempotency.http.client-header", () -> "X-Client-Id");
    registry.add("outbox.idempotency.http.max-body-size", () -> "1KB");
    registry.add("outbox.idempotency.http.paths", () -> "/by-path/**");
    registry.add("outbox.idempotency.http.max-stored-response-size", () -> "2KB");
    registry.add(
        "outbox.idempotency.http.fingerprint.key",
        () -> "contract-fingerprint-key-0123456789abcdef");
  }

  @LocalServerPort int port;
  @Autowired JdbcTemplate jdbc;
  @Autowired WorkProbe controller;
  @Autowired MutableClock clock;

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  @BeforeEach
  void reset() {
    controller.failAfterWrites.set(false);
  }

  @Test
  void fiftyConcurrentIdenticalRequestsRunTheWorkOnce() throws Exception {
    String key = UUID.randomUUID().toString();
    String body = "{\"account\":\"acc-50\",\"amountMinor\":1250,\"delayMillis\":300}";
    int before = controller.executions.get();
    ExecutorService pool = Executors.newFixedThreadPool(50);
    CountDownLatch start = new CountDownLatch(1);
    try {
      List<Future<HttpResponse<String>>> futures = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        futures.add(
            pool.submit(
                () -> {
                  start.await();
                  return post("/payments", key, body, "client-a");
                }));
      }
      start.countDown();
      List<HttpResponse<String>> responses = new ArrayList<>();
      for (Future<HttpResponse<String>> future : futures) {
        responses.add(future.get(60, TimeUnit.SECONDS));
      }
      assertThat(responses).allSatisfy(r -> assertThat(r.statusCode()).isIn(201, 409));
      List<HttpResponse<String>> executed =
          responses.stream()
              .filter(
                  r ->
                      r.statusCode() == 201
                          && r.headers().firstValue("Idempotent-Replayed").isEmpty())
              .toList();
      assertThat(executed).hasSize(1);
      List<HttpResponse<String>> replayed =
          responses.stream()
              .filter(r -> r.headers().firstValue("Idempotent-Replayed").isPresent())
              .toList();
      assertThat(replayed).allSatisfy(r -> assertThat(r.body()).isEqualTo(executed.get(0).body()));
      List<HttpResponse<String>> conflicts =
          responses.stream().filter(r -> r.statusCode() == 409).toList();
      assertThat(conflicts)
          .allSatisfy(
              r -> {
                assertThat(r.headers().firstValue("Retry-After")).hasValue("1");
                assertThat(r.headers().firstValue("Content-Type"))
                    .hasValue("application/problem+json");
              });
      assertThat(replayed.size() + conflicts.size()).isEqualTo(49);
      System.out.printf(
          "[idempotency-concurrency] 50 identical requests: 1 executed, %d replayed, %d conflicts%n",
          replayed.size(), conflicts.size());
      assertThat(controller.executions.get() - before).isOne();
      assertThat(count("SELECT count(*) FROM web_payment WHERE account = 'acc-50'")).isOne();
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aReplayReturnsTheOriginalStatusBodyAndHeaders() throws Exception {
    String key = UUID.randomUUID().toString();
    String body = "{\"account\":\"acc-replay\",\"amountMinor\":700}";
    HttpResponse<String> first = post("/payments", key, body, "client-a");
    HttpResponse<String> second = post("/payments", key, body, "client-a");
    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(second.statusCode()).isEqualTo(201);
    assertThat(second.body()).isEqualTo(first.body());
    assertThat(second.headers().firstValue("Location"))
        .isEqualTo(first.headers().firstValue("Location"));
    assertThat(second.headers().firstValue("Content-Type"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
    assertThat(second.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(first.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(count("SELECT count(*) FROM web_payment WHERE account = 'acc-replay'")).isOne();
    assertThat(count("SELECT count(*) FROM outbox_event WHERE type = 'PaymentAuthorized'"))
        .isEqualTo(count("SELECT count(*) FROM web_payment"));
  }

  @Test
  void theSameKeyWithAnotherBodyIs422AndRunsNothing() throws Exception {
    String key = UUID.randomUUID().toString();
    post("/payments", key, "{\"account\":\"acc-422\",\"amountMinor\":1}", "client-a");
    int before = controller.executions.get();
    HttpResponse<String> reused =
        post("/payments", key, "{\"account\":\"acc-422\",\"amountMinor\":2}", "client-a");
    assertThat(reused.statusCode()).isEqualTo(422);
    assertThat(reused.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(reused.body()).contains("\"status\":422").contains("different request");
    assertThat(controller.executions.get()).isEqualTo(before);
  }

  @Test
  void aMissingKeyIs400AndAnOptionalEndpointRunsWithoutOne() throws Exception {
    int before = controller.executions.get();
    HttpResponse<String> missing =
        post("/payments", null, "{\"account\":\"acc-400\",\"amountMinor\":1}", "client-a");
    assertThat(missing.statusCode()).isEqualTo(400);
    assertThat(missing.body()).contains("Idempotency-Key");
    assertThat(controller.executions.get()).isEqualTo(before);
    assertThat(
            post(
                    "/optional/payments",
                    null,
                    "{\"account\":\"acc-opt\",\"amountMinor\":1}",
                    "client-a")
                .statusCode())
        .isEqualTo(201);
  }

  @Test
  void keysAreScopedPerClient() throws Exception {
    String key = UUID.randomUUID().toString();
    String body = "{\"account\":\"acc-scope\",\"amountMinor\":1}";
    assertThat(post("/payments", key, body, "client-a").statusCode()).isEqualTo(201);
    HttpResponse<String> other = post("/payments", key, body, "client-b");
    assertThat(other.statusCode()).isEqualTo(201);
    assertThat(other.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(count("SELECT count(*) FROM web_payment WHERE account = 'acc-scope'")).isEqualTo(2);
  }

  @Test
  void aKeyWithoutPrincipalOrClientIsRefusedAndNeverShared() throws Exception {
    String key = UUID.randomUUID().toString();
    String body = "{\"account\":\"acc-anonymous\",\"amountMinor\":1}";
    int before = controller.executions.get();
    for (int i = 0; i < 2; i++) {
      HttpResponse<String> refused = post("/payments", key, body, null);
      assertThat(refused.statusCode()).isEqualTo(403);
      assertThat(refused.headers().firstValue("Content-Type")).hasValue("application/problem+json");
      assertThat(refused.body()).contains("idempotency-caller-unknown");
    }
    assertThat(controller.executions.get()).isEqualTo(before);
    assertThat(count("SELECT count(*) FROM web_payment WHERE account = 'acc-anonymous'")).isZero();
  }

  @Test
  void aForbiddenAnswerIsNotStoredSoAGrantedRetryRuns() throws Exception {
    String key = UUID.randomUUID().toString();
    String body = "{\"account\":\"acc-403\",\"amountMinor\":1}";
    int before = controller.executions.get();
    assertThat(post("/forbidden", key, body, "client-a").statusCode()).isEqualTo(403);
    HttpResponse<String> again = post("/forbidden", key, body, "client-a");
    assertThat(again.statusCode()).isEqualTo(403);
    assertThat(again.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(controller.executions.get() - before).isEqualTo(2);
  }

  @Test
  void aResponseOverTheStoredLimitIsSentWholeAndReplayedWithoutItsBody() throws Exception {
    String key = UUID.randomUUID().toString();
    String body = "{\"account\":\"acc-large\",\"amountMinor\":1}";
    int before = controller.executions.get();
    HttpResponse<String> first = post("/statements", key, body, "client-a");
    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.body()).hasSizeGreaterThan(4096);
    assertThat(first.headers().firstValue("Idempotent-Body-Stored")).hasValue("false");
    HttpResponse<String> replay = post("/statements", key, body, "client-a");
    assertThat(replay.statusCode()).isEqualTo(201);
    assertThat(replay.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(replay.headers().firstValue("Idempotent-Body-Stored")).hasValue("false");
    assertThat(replay.headers().firstValue("Location"))
        .isEqualTo(first.headers().firstValue("Location"));
    assertThat(replay.body()).isEmpty();
    assertThat(controller.executions.get() - before).isOne();
    assertThat(count("SELECT count(*) FROM web_payment WHERE account = 'acc-large'")).isOne();
  }

  @Test
  void configuredPathsAreIdempotentWithoutAnAnnotation() throws Exception {
    String body = "{\"account\":\"acc-path\",\"amountMinor\":1}";
    assertThat(post("/by-path/payments", null, body, "client-a").statusCode()).isEqualTo(400);
    String key = UUID.randomUUID().toString();
    assertThat(post("/by-path/payments", key, body, "client-a").statusCode()).isEqualTo(201);
    assertThat(
            post("/by-path/payments", key, body, "client-a")
                .headers()
                .firstValue("Idempotent-Replayed"))
        .hasValue("true");
    assertThat(count("SELECT count(*) FROM web_payment WHERE account = 'acc-path'")).isOne();
  }

  @Test
  void anAuthenticatedPrincipalScopesTheKeyBeforeAnyClientHeader() throws Exception {
    String key = UUID.randomUUID().toString();
    String body = "{\"account\":\"acc-principal\",\"amountMinor\":1}";
    assertThat(postAs("alice", "/payments", key, body, "shared-client").statusCode())
        .isEqualTo(201);
    HttpResponse<String> bob = postAs("bob", "/payments", key, body, "shared-client");
    assertThat(bob.headers().firstValue("Idempotent-Replayed")).isEmpty();
    HttpResponse<String> aliceAgain = postAs("alice", "/payments", key, body, "other-client");
    assertThat(aliceAgain.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(count("SELECT count(*) FROM web_payment WHERE account = 'acc-principal'"))
        .isEqualTo(2);
  }

  @Test
  void aRedirectIsStoredAndReplayed() throws Exception {
    String key = UUID.randomUUID().toString();
    String body = "{\"account\":\"acc-303\",\"amountMinor\":1}";
    HttpResponse<String> first = post("/redirects", key, body, "client-a");
    HttpResponse<String> again = post("/redirects", key, body, "client-a");
    assertThat(first.statusCode()).isEqualTo(303);
    assertThat(again.statusCode()).isEqualTo(303);
    assertThat(again.headers().firstValue("Location"))
        .isEqualTo(first.headers().firstValue("Location"));
    assertThat(again.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(count("SELECT count(*) FROM web_payment WHERE account = 'acc-303'")).isOne();
  }

  @Test
  void formPostsKeepTheirParametersAndAreFingerprintedByThem() throws Exception {
    String key = UUID.randomUUID().toString();
    HttpResponse<String> first = form(key, "account=acc-form&amountMinor=5");
    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.body()).contains("\"account\":\"acc-form\"").contains("\"amountMinor\":5");
    assertThat(
            form(key, "amountMinor=5&account=acc-form").headers().firstValue("Idempotent-Replayed"))
        .hasValue("true");
    assertThat(form(key, "account=acc-form&amountMinor=6").statusCode()).isEqualTo(422);
    assertThat(count("SELECT count(*) FROM web_payment WHERE account = 'acc-form'")).isOne();
  }

  @Test
  void formsWhoseValuesHoldNewlinesOrEqualsSignsAreDifferentRequests() throws Exception {
    // memo="x\nzz=y" once, memo="x" plus zz="y" the other time: joined as name=value lines, both
    // read "memo=x\nzz=y\n".
    String newlineKey = UUID.randomUUID().toString();
    assertThat(form(newlineKey, "account=acc-fc&amountMinor=5&memo=x%0Azz%3Dy").statusCode())
        .isEqualTo(201);
    HttpResponse<String> split = form(newlineKey, "account=acc-fc&amountMinor=5&memo=x&zz=y");
    assertThat(split.statusCode()).isEqualTo(422);
    assertThat(split.headers().firstValue("Idempotent-Replayed")).isEmpty();
    // name "m=1" with value "2" against name "m" with value "1=2": both "m=1=2".
    String equalsKey = UUID.randomUUID().toString();
    assertThat(form(equalsKey, "account=acc-fc&amountMinor=5&m%3D1=2").statusCode()).isEqualTo(201);
    assertThat(form(equalsKey, "account=acc-fc&amountMinor=5&m=1%3D2").statusCode()).isEqualTo(422);
    // The same parameters in another order are still the same request.
    assertThat(
            form(equalsKey, "m%3D1=2&amountMinor=5&account=acc-fc")
                .headers()
                .firstValue("Idempotent-Replayed"))
        .hasValue("true");
    assertThat(count("SELECT count(*) FROM web_payment WHERE account = 'acc-fc'")).isEqualTo(2);
  }

  @Test
  void aPrincipalNameTooLongForTheScopeColumnStillScopesItsKeys() throws Exception {
    // An X.509 subject DN as the principal name: with the "http:principal:" prefix the scope would
    // pass the 255-character column.
    String dn =
        "CN=payments-gateway-client.eu-central-1.internal.example.com,OU=Card Processing Platform"
            + " Integration Services,OU=Payments Infrastructure and Settlement Operations,"
            + "O=Example Payment Services Europe GmbH,L=Frankfurt am Main,ST=Hessen,C=DE,"
            + "emailAddress=payments-platform-operations@example.com,serialNumber=";
    String alice = dn + "0001";
    String bob = dn + "0002"; // differs from alice only past any readable prefix
    assertThat(("http:principal:" + alice).length()).isGreaterThan(255);
    String key = UUID.randomUUID().toString();
    String body = "{\"account\":\"acc-long-principal\",\"amountMinor\":1}";
    HttpResponse<String> first = postAs(alice, "/payments", key, body, "client-a");
    assertThat(first.statusCode()).isEqualTo(201);
    HttpResponse<String> again = postAs(alice, "/payments", key, body, "client-a");
    assertThat(again.statusCode()).isEqualTo(201);
    assertThat(again.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(again.body()).isEqualTo(first.body());
    HttpResponse<String> other = postAs(bob, "/payments", key, body, "client-a");
    assertThat(other.statusCode()).isEqualTo(201);
    assertThat(other.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(count("SELECT count(*) FROM web_payment WHERE account = 'acc-long-principal'"))
        .isEqualTo(2);
    List<String> scopes =
        jdbc.queryForList(
            "SELECT scope FROM idempotency_key WHERE idem_key = ? ORDER BY scope",
            String.class,
            key);
    assertThat(scopes).hasSize(2).allSatisfy(scope -> assertThat(scope).hasSizeLessThan(256));
  }

  @Test
  void aShortPrincipalKeepsAReadableScope() throws Exception {
    String key = UUID.randomUUID().toString();
    String body = "{\"account\":\"acc-short-principal\",\"amountMinor\":1}";
    assertThat(postAs("carol", "/payments", key, body, "client-a").statusCode()).isEqualTo(201);
    assertThat(
            jdbc.queryForObject(
                "SELECT scope FROM idempotency_key WHERE idem_key = ?", String.class, key))
        .isEqualTo("http:principal:carol");
  }

  @Test
  void anOverLongKeyIs400NamingTheLimit() throws Exception {
    HttpResponse<String> tooLong =
        post(
            "/payments",
            "k".repeat(256),
            "{\"account\":\"acc-long-key\",\"amountMinor\":1}",
            "client-a");
    assertThat(tooLong.statusCode()).isEqualTo(400);
    assertThat(tooLong.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(tooLong.body()).contains("at most 255 characters but has 256");
    assertThat(count("SELECT count(*) FROM web_payment WHERE account = 'acc-long-key'")).isZero();
  }

  @Test
  void aSendErrorResponseIsNotStoredAndItsWritesRollBack() throws Exception {
    String key = UUID.randomUUID().toString();
    String body = "{\"account\":\"acc-send-error\",\"amountMinor\":1}";
    int before = controller.executions.get();
    assertThat(post("/send-error", key, body, "client-a").statusCode()).isEqualTo(422);
    assertThat(post("/send-error", key, body, "client-a").statusCode()).isEqualTo(422);
    assertThat(controller.executions.get() - before).isEqualTo(2);
    assertThat(count("SELECT count(*) FROM web_payment WHERE account = 'acc-send-error'")).isZero();
  }

  @Test
  void anExpiredKeyRunsAgain() throws Exception {
    String key = UUID.randomUUID().toString();
    String body = "{\"account\":\"acc-expired\",\"amountMinor\":1}";
    post("/payments", key, body, "client-a");
    clock.advance(Duration.ofHours(25));
    HttpResponse<String> again = post("/payments", key, body, "client-a");
    assertThat(again.statusCode()).isEqualTo(201);
    assertThat(again.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(count("SELECT count(*) FROM web_payment WHERE account = 'acc-expired'"))
        .isEqualTo(2);
  }

  @Test
  void aCrashAfterTheWritesStoresNothingAndTheRetryRunsOnce() throws Exception {
    String key = UUID.randomUUID().toString();
    String body = "{\"account\":\"acc-crash\",\"amountMinor\":1}";
    controller.failAfterWrites.set(true);
    int events = count("SELECT count(*) FROM outbox_event");
    HttpResponse<String> failed = post("/payments", key, body, "client-a");
    assertThat(failed.statusCode()).isEqualTo(503);
    assertThat(count("SELECT count(*) FROM web_payment WHERE account = 'acc-crash'")).isZero();
    assertThat(count("SELECT count(*) FROM outbox_event")).isEqualTo(events);
    assertThat(
            jdbc.queryForObject(
                "SELECT count(*) FROM idempotency_key WHERE idem_key = ?", Integer.class, key))
        .isZero();
    controller.failAfterWrites.set(false);
    HttpResponse<String> retry = post("/payments", key, body, "client-a");
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(post("/payments", key, body, "client-a").headers().firstValue("Idempotent-Replayed"))
        .hasValue("true");
    assertThat(count("SELECT count(*) FROM web_payment WHERE account = 'acc-crash'")).isOne();
  }

  @Test
  void cacheable4xxResponsesAreReplayed() throws Exception {
    String key = UUID.randomUUID().toString();
    String body = "{\"account\":\"acc-402\",\"amountMinor\":1}";
    int before = controller.executions.get();
    HttpResponse<String> first = post("/declines", key, body, "client-a");
    assertThat(first.statusCode()).isEqualTo(402);
    HttpResponse<String> replay = post("/declines", key, body, "client-a");
    assertThat(replay.statusCode()).isEqualTo(402);
    assertThat(replay.body()).isEqualTo(first.body()).contains("insufficient funds");
    assertThat(replay.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(controller.executions.get() - before).isOne();
  }

  @Test
  void bodiesAtTheLimitPassAndLargerOnesAre413() throws Exception {
    String prefix = "{\"account\":\"acc-size\",\"amountMinor\":1,\"pad\":\"";
    String suffix = "\"}";
    String exactly = prefix + "x".repeat(1024 - prefix.length() - suffix.length()) + suffix;
    assertThat(exactly.getBytes(StandardCharsets.UTF_8)).hasSize(1024);
    assertThat(post("/payments", UUID.randomUUID().toString(), exactly, "client-a").statusCode())
        .isEqualTo(201);
    HttpResponse<String> tooLarge =
        post("/payments", UUID.randomUUID().toString(), exactly + " ", "client-a");
    assertThat(tooLarge.statusCode()).isEqualTo(413);
    assertThat(tooLarge.headers().firstValue("Content-Type")).hasValue("application/problem+json");
  }

  @Test
  void badKeysAndGarbageHeadersGet4xxNever5xx() throws Exception {
    String body = "{\"account\":\"acc-bad\",\"amountMinor\":1}";
    List<String> badKeys =
        List.of("", "\"\"", "k".repeat(256), "two words", "schl\u00fcssel", "\u0001ctl");
    for (String key : badKeys) {
      int status = raw("POST", "/payments", "Idempotency-Key: " + key, body);
      assertThat(status).as("key %s", key).isEqualTo(400);
    }
    int garbage =
        raw(
            "POST",
            "/payments",
            "Idempotency-Key: \u00ff\u00fe\u00fd garbage\r\nX-Client-Id: \u00e9\u00e9",
            body);
    assertThat(garbage).isBetween(400, 499);
    assertThat(
            raw("POST", "/payments", "Idempotency-Key: ok-key-1\r\nContent-Length: 99999999", ""))
        .isEqualTo(413);
    assertThat(count("SELECT count(*) FROM web_payment WHERE account = 'acc-bad'")).isZero();
  }

  /**
   * Prints what the filter adds at p50 and p99. {@code -Didempotency.latency.passes=N} repeats the
   * interleaved measurement (see docs/benchmarks.md); one pass by default, to keep verify short.
   */
  @Test
  void reportsTheLatencyTheFilterAdds() throws Exception {
    String body = "{\"account\":\"acc-latency\",\"amountMinor\":1}";
    for (int i = 0; i < 100; i++) { // warm up both paths
      post("/plain/payments", null, body, "client-l");
      post("/payments", UUID.randomUUID().toString(), body, "client-l");
    }
    int passes = Integer.getInteger("idempotency.latency.passes", 1);
    for (int pass = 1; pass <= passes; pass++) {
      int n = 500;
      long[] plain = new long[n];
      long[] idempotent = new long[n];
      for (int i = 0; i < n; i++) { // interleaved, so both see the same machine state
        long t0 = System.nanoTime();
        assertThat(post("/plain/payments", null, body, "client-l").statusCode()).isEqualTo(201);
        long t1 = System.nanoTime();
        assertThat(post("/payments", UUID.randomUUID().toString(), body, "client-l").statusCode())
            .isEqualTo(201);
        long t2 = System.nanoTime();
        plain[i] = t1 - t0;
        idempotent[i] = t2 - t1;
      }
      Arrays.sort(plain);
      Arrays.sort(idempotent);
      System.out.printf(
          "[idempotency-latency] %s pass %d, %d requests each: without filter p50 %.2f ms p99 %.2f"
              + " ms; with filter p50 %.2f ms p99 %.2f ms; added at p50 %+.2f ms%n",
          getClass().getSimpleName(),
          pass,
          n,
          plain[n / 2] / 1e6,
          plain[n * 99 / 100] / 1e6,
          idempotent[n / 2] / 1e6,
          idempotent[n * 99 / 100] / 1e6,
          (idempotent[n / 2] - plain[n / 2]) / 1e6);
    }
  }

  private HttpResponse<String> postAs(
      String user, String path, String key, String body, String client) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
            .timeout(Duration.ofSeconds(60))
            .header("Content-Type", "application/json")
            .header("X-Client-Id", client)
            .header("X-Test-User", user)
            .header("Idempotency-Key", key)
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> form(String key, String form) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/forms"))
            .timeout(Duration.ofSeconds(60))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-Client-Id", "client-form")
            .header("Idempotency-Key", key)
            .POST(HttpRequest.BodyPublishers.ofString(form))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(String path, String key, String body, String client)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
            .timeout(Duration.ofSeconds(60))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (client != null) {
      request.header("X-Client-Id", client);
    }
    if (key != null) {
      request.header("Idempotency-Key", key);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Sends bytes no well-behaved client would, and returns the status code. */
  private int raw(String method, String path, String extraHeaders, String body) throws Exception {
    byte[] payload = body.getBytes(StandardCharsets.UTF_8);
    String head =
        method
            + " "
            + path
            + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            + "Content-Type: application/json\r\nX-Client-Id: raw\r\n"
            + (extraHeaders.contains("Content-Length")
                ? ""
                : "Content-Length: " + payload.length + "\r\n")
            + extraHeaders
            + "\r\n\r\n";
    try (Socket socket = new Socket("localhost", port)) {
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      out.write(head.getBytes(StandardCharsets.ISO_8859_1));
      out.write(payload);
      out.flush();
      socket.shutdownOutput();
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream response = new ByteArrayOutputStream();
      in.transferTo(response);
      String statusLine =
          response.toString(StandardCharsets.ISO_8859_1).lines().findFirst().orElse("");
      return Integer.parseInt(statusLine.split(" ")[1]);
    }
  }

  private int count(String sql) {
    return jdbc.queryForObject(sql, Integer.class);
  }
}
