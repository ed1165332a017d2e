package dev.outboxkit.idempotency.web;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.springframework.mock.web.MockHttpServletResponse;

/**
 * Review finding: a stored response that can no longer be decoded (the key that encrypted it was
 * removed, encryption was turned on after it was stored, the row was altered) made every retry with
 * that key end in the decoder's exception: a bare 500 from the container, nothing telling the
 * client that the operation itself was done and that retrying will not help, and no log naming the
 * key for the operator. The filter answers a problem response instead and logs the key (never the
 * stored bytes or the decoder's message, which may quote them).
 */
class IdempotencyFilterUnreadableResponseTests {

  private static final String SECRET_BODY = "tok_live_4242";

  private final FilterHarness harness = new FilterHarness();
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private final Logger filterLog = (Logger) LoggerFactory.getLogger(IdempotencyFilter.class);

  IdempotencyFilterUnreadableResponseTests() throws Exception {
    logs.start();
    filterLog.addAppender(logs);
  }

  @AfterEach
  void detach() {
    filterLog.detachAppender(logs);
  }

  @Test
  void anUndecodableStoredResponseGivesAProblemAndALogNamingTheKey() throws Exception {
    IdempotencyFilter filter =
        harness.filter(
            IdempotencyFilterSettings.defaults(
                    RequestFingerprinting.hmacSha256("a-fingerprint-key-of-at-least-32-bytes!"))
                .withPathPatterns(List.of("/payments/**")));
    FilterHarness.Handler handler = new FilterHarness.Handler(201);
    FilterHarness.send(filter, FilterHarness.post("k-unreadable", "{}", "alice", null), handler);
    // What a removed key or a late switch to encryption leaves: bytes the codec cannot read.
    harness.jdbc.update(
        "UPDATE idempotency_key SET result = ? WHERE idem_key = 'k-unreadable'",
        ("{\"status\":201,\"body\":\"" + SECRET_BODY).getBytes(StandardCharsets.UTF_8));

    MockHttpServletResponse retry =
        FilterHarness.send(
            filter, FilterHarness.post("k-unreadable", "{}", "alice", null), handler);

    assertThat(retry.getStatus()).isEqualTo(500);
    assertThat(retry.getContentType()).isEqualTo("application/problem+json");
    assertThat(retry.getContentAsString())
        .contains("urn:outboxkit:problem:stored-response-unreadable")
        .contains("was processed")
        .doesNotContain(SECRET_BODY);
    assertThat(handler.runs).as("the work is never run twice").hasValue(1);
    assertThat(logs.list)
        .anySatisfy(
            event ->
                assertThat(event.getFormattedMessage())
                    .contains("k-unreadable")
                    .contains("http:principal:alice"));
    assertThat(logs.list)
        .allSatisfy(
            event -> {
              assertThat(event.getFormattedMessage()).doesNotContain(SECRET_BODY);
              assertThat(event.getThrowableProxy()).isNull();
            });
  }
}
