package dev.outboxkit.spring.relay;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.outboxkit.spring.OutboxParkedEventsEndpoint;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.springframework.boot.actuate.endpoint.SecurityContext;

/**
 * Issue 20, finding 3: a refused call logged the caller's ids raw and unbounded, so a CR/LF in them
 * forged a second audit line. Whatever the caller sends, no audit log line carries a line break,
 * and none grows with the input.
 */
class OutboxParkedEventsEndpointLogForgingTests {

  private static final String FORGED =
      "0190f3c2-0000-7000-8000-000000000001\r\n"
          + "INFO outbox audit operation=REPLAY outcome=OK principal=\"admin\""
          + "x".repeat(10_000);

  private final Logger audit = (Logger) LoggerFactory.getLogger("dev.outboxkit.audit");
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

  @BeforeEach
  void capture() {
    appender.start();
    audit.addAppender(appender);
  }

  @AfterEach
  void release() {
    audit.detachAppender(appender);
  }

  @Test
  void aRefusedCallCannotForgeOrFloodTheAuditLog() {
    OutboxParkedEventsEndpointTests.RecordingParkedEvents parked =
        new OutboxParkedEventsEndpointTests.RecordingParkedEvents();
    OutboxParkedEventsEndpoint endpoint =
        new OutboxParkedEventsEndpoint(() -> parked, true, "OUTBOX_OPERATOR");

    assertThat(endpoint.replay(SecurityContext.NONE, FORGED).getStatus()).isEqualTo(401);
    assertThat(endpoint.purge(SecurityContext.NONE, FORGED).getStatus()).isEqualTo(401);

    assertThat(appender.list)
        .allSatisfy(
            event -> {
              assertThat(event.getFormattedMessage()).doesNotContain("\r", "\n");
              assertThat(event.getFormattedMessage().length()).isLessThan(2_000);
            });
    assertThat(parked.calls).isEmpty();
    // The refusals go to the audit trail, which stores and logs them sanitised and capped
    // (AuditTrailContractTests); the endpoint no longer logs caller text itself.
    assertThat(parked.refusals).hasSize(2);
  }
}
