package dev.outboxkit.relay.app.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.relay.RelayInspection.Member;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** How {@code status} judges what a relay reported in its member row by the row's age. */
class MemberHealthTests {

  private static final Instant NOW = Instant.parse("2026-12-06T12:00:00Z");
  private static final Duration BEAT = Duration.ofMillis(500);

  private static Member member(Duration age, Duration expiresIn, String state, String circuit) {
    return new Member("relay-a", NOW.minus(age), true, NOW.plus(expiresIn), state, circuit);
  }

  @Test
  void aFreshRowShowsWhatTheRelayReported() {
    MemberHealth health =
        MemberHealth.of(
            member(Duration.ofSeconds(1), Duration.ofSeconds(29), "RUNNING", "OPEN"), NOW, BEAT);
    assertThat(health).isEqualTo(new MemberHealth("RUNNING", "OPEN", false, "RUNNING", "OPEN"));
  }

  @Test
  void aRowOlderThanFourHeartbeatsAndThreeSecondsIsStaleNotRunning() {
    MemberHealth justFresh =
        MemberHealth.of(
            member(Duration.ofSeconds(3), Duration.ofSeconds(27), "RUNNING", "CLOSED"), NOW, BEAT);
    assertThat(justFresh.stale()).isFalse();
    MemberHealth stale =
        MemberHealth.of(
            member(Duration.ofMillis(3001), Duration.ofSeconds(27), "RUNNING", "CLOSED"),
            NOW,
            BEAT);
    assertThat(stale)
        .isEqualTo(new MemberHealth("STALE", "CLOSED (stale)", true, "RUNNING", "CLOSED"));
    // A longer heartbeat interval allows four of them.
    assertThat(
            MemberHealth.of(
                    member(Duration.ofSeconds(7), Duration.ofSeconds(20), "RUNNING", "CLOSED"),
                    NOW,
                    Duration.ofSeconds(2))
                .stale())
        .isFalse();
  }

  @Test
  void anExpiredRowIsStaleHoweverRecentItsHeartbeat() {
    MemberHealth health =
        MemberHealth.of(member(Duration.ZERO, Duration.ZERO, "RUNNING", "CLOSED"), NOW, BEAT);
    assertThat(health.stale()).isTrue();
    assertThat(health.state()).isEqualTo("STALE");
  }

  @Test
  void aRelayOlderThanTheColumnsReportsNothingAndARowWithoutHeartbeatIsStale() {
    MemberHealth old =
        MemberHealth.of(
            member(Duration.ofSeconds(1), Duration.ofSeconds(29), null, null), NOW, BEAT);
    assertThat(old).isEqualTo(new MemberHealth("-", "-", false, null, null));
    MemberHealth never =
        MemberHealth.of(new Member("relay-b", null, false, null, null, null), NOW, BEAT);
    assertThat(never.stale()).isTrue();
  }
}
