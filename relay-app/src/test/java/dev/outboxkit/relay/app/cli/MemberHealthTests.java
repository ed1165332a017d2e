package dev.outboxkit.relay.app.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.relay.RelayInspection.CdcEngine;
import dev.outboxkit.relay.RelayInspection.Member;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * How {@code status} judges what a relay reported in its member row (a CDC relay: in its engine's
 * state row) by the row's age.
 */
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

  private static CdcEngine engine(
      String owner, Duration age, Duration expiresIn, String state, String circuit) {
    Instant expires = expiresIn == null ? null : NOW.plus(expiresIn);
    return new CdcEngine(
        "outboxkit",
        owner,
        3,
        expires,
        null,
        expires == null || !expires.isAfter(NOW),
        null,
        age == null ? null : NOW.minus(age),
        state,
        circuit);
  }

  @Test
  void aCdcRowWhoseLeaseIsHeldAndRenewedShowsWhatItsHolderReported() {
    MemberHealth health =
        MemberHealth.of(
            engine("relay-c", Duration.ofSeconds(1), Duration.ofSeconds(29), "RUNNING", "OPEN"),
            NOW,
            BEAT);
    assertThat(health).isEqualTo(new MemberHealth("RUNNING", "OPEN", false, "RUNNING", "OPEN"));
  }

  @Test
  void aCdcRowNotRenewedForFourHeartbeatsOrWithItsLeaseLapsedIsStale() {
    assertThat(
            MemberHealth.of(
                engine(
                    "relay-c",
                    Duration.ofMillis(3001),
                    Duration.ofSeconds(27),
                    "RUNNING",
                    "CLOSED"),
                NOW,
                BEAT))
        .isEqualTo(new MemberHealth("STALE", "CLOSED (stale)", true, "RUNNING", "CLOSED"));
    assertThat(
            MemberHealth.of(
                    engine("relay-c", Duration.ofSeconds(1), Duration.ZERO, "RUNNING", "CLOSED"),
                    NOW,
                    BEAT)
                .state())
        .isEqualTo("STALE");
  }

  @Test
  void aCdcRowWithoutOwnerShowsWhyItsLastHolderGaveTheLeaseUpHoweverOld() {
    assertThat(
            MemberHealth.of(
                engine(null, Duration.ofMinutes(30), null, "STOPPED", "OPEN"), NOW, BEAT))
        .isEqualTo(new MemberHealth("STOPPED", "OPEN", false, "STOPPED", "OPEN"));
  }

  @Test
  void aCdcRowOfARelayOlderThanTheColumnsIsJudgedByItsLeaseAlone() {
    assertThat(
            MemberHealth.of(engine("relay-c", null, Duration.ofSeconds(20), null, null), NOW, BEAT))
        .isEqualTo(new MemberHealth("-", "-", false, null, null));
    assertThat(
            MemberHealth.of(engine("relay-c", null, Duration.ZERO, null, null), NOW, BEAT).stale())
        .isTrue();
  }
}
