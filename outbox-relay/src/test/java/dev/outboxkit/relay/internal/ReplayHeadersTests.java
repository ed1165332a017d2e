package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The headers column of a replayed event's pending copy ({@link JdbcParkedEvents}). */
class ReplayHeadersTests {

  private static final Instant APPENDED = Instant.parse("2026-12-03T08:15:30.123456Z");

  @Test
  void addsTheAppendTimeAfterTheApplicationsHeaders() {
    assertThat(ParkedReplay.withAppendedAt("{\"a\":\"1\"}", APPENDED))
        .isEqualTo("{\"a\":\"1\",\"outbox-appended-at\":\"2026-12-03T08:15:30.123456Z\"}");
    assertThat(ParkedReplay.withAppendedAt(null, APPENDED))
        .isEqualTo("{\"outbox-appended-at\":\"2026-12-03T08:15:30.123456Z\"}");
  }

  @Test
  void keepsTheFirstAppendTimeOnASecondReplay() {
    String once = ParkedReplay.withAppendedAt(null, APPENDED);
    assertThat(ParkedReplay.withAppendedAt(once, APPENDED.plusSeconds(3600))).isEqualTo(once);
  }

  @Test
  void leavesAnUnreadableColumnAsItIsSoTheReplayStillRuns() {
    assertThat(ParkedReplay.withAppendedAt("{not json", APPENDED)).isEqualTo("{not json");
  }
}
