package dev.outboxkit.idempotency.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;

/**
 * Review finding: a multipart request on an idempotent endpoint had its raw body read to
 * fingerprint it, so the container had nothing left to parse its parts from ({@code
 * CachedBodyRequest} serves the bytes again to {@code getInputStream}, not to {@code getParts}):
 * the handler ran with its file parts missing and the response was stored under the key, so every
 * retry replayed it. Fingerprinting parts faithfully (boundaries differ per send) is out of scope:
 * a keyed multipart request is refused with 415 before anything runs, and says what to send
 * instead.
 */
class IdempotencyFilterMultipartTests {

  private final FilterHarness harness = new FilterHarness();

  IdempotencyFilterMultipartTests() throws Exception {}

  @Test
  void aKeyedMultipartRequestIsRefusedBeforeTheHandlerRuns() throws Exception {
    IdempotencyFilter filter =
        harness.filter(
            IdempotencyFilterSettings.defaults(
                    RequestFingerprinting.hmacSha256("a-fingerprint-key-of-at-least-32-bytes!"))
                .withPathPatterns(List.of("/payments/**")));
    MockHttpServletRequest request = FilterHarness.post("k-multi", "", "alice", null);
    request.setContentType("multipart/form-data; boundary=xyz");
    request.setContent(
        ("--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n"
                + "1,2\r\n--xyz--\r\n")
            .getBytes(StandardCharsets.UTF_8));
    FilterHarness.Handler handler = new FilterHarness.Handler(201);

    MockHttpServletResponse response = FilterHarness.send(filter, request, handler);

    assertThat(response.getStatus()).isEqualTo(415);
    assertThat(response.getContentType()).isEqualTo("application/problem+json");
    assertThat(response.getContentAsString())
        .contains("urn:outboxkit:problem:multipart-not-idempotent")
        .contains("multipart");
    assertThat(handler.runs).hasValue(0);
    assertThat(harness.jdbc.queryForObject("SELECT count(*) FROM idempotency_key", Integer.class))
        .isZero();
  }
}
