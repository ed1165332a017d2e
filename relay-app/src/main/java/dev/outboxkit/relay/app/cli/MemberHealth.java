package dev.outboxkit.relay.app.cli;

import dev.outboxkit.relay.RelayInspection.CdcEngine;
import dev.outboxkit.relay.RelayInspection.Member;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What a relay instance reported of itself at its last heartbeat (its state and its circuit
 * breaker's), judged by how old that heartbeat is. The CLI runs in another process: all it knows of
 * a relay is its member row, so a report is only as good as the row is fresh. A row not renewed for
 * four heartbeat intervals (at least three seconds), or past its own expiry, is stale: its last
 * report says nothing about now, and it is shown as {@code STALE}, never as what it last said. A
 * CDC relay has no member row: its lease holder reports the same in the engine's state row.
 *
 * @param state the state column: the reported state, {@code STALE}, or {@code -} when the relay
 *     reported none (older than version 10 of the tables)
 * @param circuit the circuit column: the reported state, with {@code (stale)} after it when the row
 *     is stale, or {@code -}
 * @param stale whether the row is stale
 * @param reportedState the state as reported, or {@code null}
 * @param reportedCircuit the circuit breaker's state as reported, or {@code null}
 */
record MemberHealth(
    String state,
    String circuit,
    boolean stale,
    @Nullable String reportedState,
    @Nullable String reportedCircuit) {

  /** The least age at which a row counts as stale, whatever the heartbeat interval. */
  static final Duration MIN_STALE_AFTER = Duration.ofSeconds(3);

  /**
   * @param member the member row
   * @param databaseNow the database's clock when the row was read
   * @param heartbeatInterval the relays' heartbeat interval ({@code
   *     outbox.relay.leases.heartbeat-interval})
   */
  static MemberHealth of(Member member, Instant databaseNow, Duration heartbeatInterval) {
    Instant beat = member.heartbeatAt();
    Instant expires = member.expiresAt();
    boolean stale =
        beat == null
            || old(beat, databaseNow, heartbeatInterval)
            || (expires != null && !expires.isAfter(databaseNow));
    return judged(stale, member.relayState(), member.circuitState());
  }

  /**
   * The same judgement of a CDC engine's state row, which reports its lease holder (a CDC relay has
   * no member row). While the lease is held the row is judged as a member row: stale when its last
   * renewal is four heartbeat intervals old or the lease lapsed. A row without an owner says why
   * its last holder gave the lease up ({@code STOPPED}, {@code STANDBY}, {@code FAILED}): that is
   * what it says now, not a claim of liveness, so it is never stale. A relay older than version 11
   * of the tables writes no report and no renewal time: its row is judged by the lease alone.
   *
   * @param engine the engine's row
   * @param databaseNow the database's clock when the row was read
   * @param heartbeatInterval the relays' heartbeat interval ({@code
   *     outbox.relay.leases.heartbeat-interval}), at which the holder renews the lease
   */
  static MemberHealth of(CdcEngine engine, Instant databaseNow, Duration heartbeatInterval) {
    Instant beat = engine.heartbeatAt();
    boolean stale =
        engine.owner() != null
            && (engine.expired()
                || engine.expiresAt() == null
                || (beat != null && old(beat, databaseNow, heartbeatInterval)));
    return judged(stale, engine.relayState(), engine.circuitState());
  }

  /** Whether a report at {@code beat} is too old to say anything about now. */
  private static boolean old(Instant beat, Instant databaseNow, Duration heartbeatInterval) {
    Duration staleAfter = heartbeatInterval.multipliedBy(4);
    if (staleAfter.compareTo(MIN_STALE_AFTER) < 0) {
      staleAfter = MIN_STALE_AFTER;
    }
    return Duration.between(beat, databaseNow).compareTo(staleAfter) > 0;
  }

  private static MemberHealth judged(
      boolean stale, @Nullable String reportedState, @Nullable String reportedCircuit) {
    String state = stale ? "STALE" : reportedState == null ? "-" : reportedState;
    String circuit =
        reportedCircuit == null ? "-" : stale ? reportedCircuit + " (stale)" : reportedCircuit;
    return new MemberHealth(state, circuit, stale, reportedState, reportedCircuit);
  }

  /** The fields of an instance in {@code status --json}. */
  void addTo(Map<String, Object> instance) {
    instance.put("state", state);
    instance.put("stale", stale);
    instance.put("reportedState", reportedState);
    instance.put("circuitState", reportedCircuit);
  }
}
