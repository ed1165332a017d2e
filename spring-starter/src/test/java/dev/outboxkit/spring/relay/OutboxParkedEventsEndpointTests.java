package dev.outboxkit.spring.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import dev.outboxkit.relay.AuditActor;
import dev.outboxkit.relay.AuditEntry;
import dev.outboxkit.relay.AuditTrail;
import dev.outboxkit.relay.ParkedEvent;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.spring.OutboxParkedEventsEndpoint;
import java.security.Principal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.springframework.boot.actuate.endpoint.SecurityContext;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;

/** Replay and purge are refused unless writes are on and the caller has the operator role. */
class OutboxParkedEventsEndpointTests {

  private static final UUID ID = UUID.fromString("0190f3c2-0000-7000-8000-000000000001");

  /** Records what was asked of it. */
  static final class RecordingParkedEvents implements ParkedEvents {
    final List<String> calls = new ArrayList<>();

    @Override
    public List<ParkedEvent> list(int limit) {
      return List.of();
    }

    @Override
    public long count() {
      return 1;
    }

    @Override
    public int replay(Collection<UUID> ids) {
      calls.add("replay " + ids);
      return ids.size();
    }

    @Override
    public int replayAll() {
      calls.add("replayAll");
      return 1;
    }

    @Override
    public int purge(Collection<UUID> ids) {
      calls.add("purge " + ids);
      return ids.size();
    }

    @Override
    public int purgeCreatedBefore(java.time.Instant cutoff, int limit) {
      calls.add("purgeCreatedBefore " + cutoff);
      return 0;
    }

    @Override
    public ParkedEvents as(AuditActor actor) {
      calls.add("as " + actor);
      return this;
    }

    @Override
    public AuditTrail auditTrail() {
      return trail;
    }

    @Override
    public List<dev.outboxkit.relay.ParkedGroup> groups(dev.outboxkit.relay.ParkedFilter filter) {
      calls.add("groups " + filter.describe());
      return List.of();
    }

    @Override
    public List<ParkedEvent> list(dev.outboxkit.relay.ParkedFilter filter, int limit) {
      calls.add("list " + filter.describe() + " " + limit);
      return List.of();
    }

    @Override
    public dev.outboxkit.relay.BulkResult replay(
        dev.outboxkit.relay.ParkedFilter filter,
        int batchSize,
        java.util.function.Consumer<dev.outboxkit.relay.BulkResult> progress) {
      calls.add("replay " + filter.describe() + " batch " + batchSize);
      return new dev.outboxkit.relay.BulkResult(1, 1, 1);
    }

    @Override
    public dev.outboxkit.relay.BulkResult purge(
        dev.outboxkit.relay.ParkedFilter filter,
        int batchSize,
        java.util.function.Consumer<dev.outboxkit.relay.BulkResult> progress) {
      calls.add("purge " + filter.describe() + " batch " + batchSize);
      return new dev.outboxkit.relay.BulkResult(1, 1, 1);
    }

    final List<String> refusals = new ArrayList<>();

    private final AuditTrail trail =
        new AuditTrail() {
          @Override
          public void refused(
              AuditActor actor, AuditEntry.Operation operation, String target, String reason) {
            refusals.add(actor.principal() + " " + operation + " " + target + " " + reason);
          }

          @Override
          public List<AuditEntry> list(int limit, @Nullable Long before) {
            return List.of();
          }
        };
  }

  private static SecurityContext caller(@Nullable String name, String... roles) {
    return new SecurityContext() {
      @Override
      public @Nullable Principal getPrincipal() {
        return name == null ? null : () -> name;
      }

      @Override
      public boolean isUserInRole(String role) {
        return Set.of(roles).contains(role);
      }
    };
  }

  private final RecordingParkedEvents parked = new RecordingParkedEvents();

  private OutboxParkedEventsEndpoint endpoint(boolean writesEnabled) {
    return new OutboxParkedEventsEndpoint(() -> parked, writesEnabled, "OUTBOX_OPERATOR");
  }

  @Test
  void withoutSpringSecurityWritesAreOffAndReadsStayOn() {
    OutboxParkedEventsEndpoint endpoint = endpoint(false);
    WebEndpointResponse<?> replay =
        endpoint.replay(caller("operator", "OUTBOX_OPERATOR"), ID.toString());
    WebEndpointResponse<?> purge =
        endpoint.purge(caller("operator", "OUTBOX_OPERATOR"), ID.toString());
    assertThat(replay.getStatus()).isEqualTo(403);
    assertThat(replay.getBody().toString()).contains("outbox.relay.management.operator-role");
    assertThat(purge.getStatus()).isEqualTo(403);
    assertThat(parked.calls).isEmpty();
    assertThat(endpoint.list(SecurityContext.NONE, null)).containsEntry("count", 1L);
  }

  @Test
  void anUnauthenticatedCallerGets401AndChangesNothing() {
    assertThat(endpoint(true).replay(SecurityContext.NONE, "all").getStatus()).isEqualTo(401);
    assertThat(endpoint(true).purge(caller(null), ID.toString()).getStatus()).isEqualTo(401);
    assertThat(parked.calls).isEmpty();
  }

  @Test
  void aCallerWithAnotherRoleGets403AndChangesNothing() {
    assertThat(endpoint(true).replay(caller("viewer", "VIEWER"), "all").getStatus()).isEqualTo(403);
    assertThat(endpoint(true).purge(caller("viewer", "VIEWER"), ID.toString()).getStatus())
        .isEqualTo(403);
    assertThat(parked.calls).isEmpty();
  }

  @Test
  void theOperatorReplaysAndPurges() {
    SecurityContext operator = caller("operator", "OUTBOX_OPERATOR");
    WebEndpointResponse<?> replay = endpoint(true).replay(operator, ID + ", ");
    assertThat(replay.getStatus()).isEqualTo(200);
    assertThat(replay.getBody()).isEqualTo(java.util.Map.of("replayed", 1));
    assertThat(endpoint(true).replay(operator, "all").getStatus()).isEqualTo(200);
    assertThat(endpoint(true).purge(operator, ID.toString()).getStatus()).isEqualTo(200);
    assertThat(parked.calls)
        .containsExactly(
            "as AuditActor[principal=operator, sourceAddress=null]",
            "replay [" + ID + "]",
            "as AuditActor[principal=operator, sourceAddress=null]",
            "replayAll",
            "as AuditActor[principal=operator, sourceAddress=null]",
            "purge [" + ID + "]");
    assertThat(parked.refusals).isEmpty();
  }

  @Test
  void refusalsAreRecordedInTheAuditTrail() {
    endpoint(true).replay(SecurityContext.NONE, "all");
    endpoint(true).purge(caller("viewer", "VIEWER"), ID.toString());
    endpoint(false).purge(caller("operator", "OUTBOX_OPERATOR"), ID.toString());
    assertThat(parked.refusals)
        .containsExactly(
            "anonymous REPLAY all 401 authentication required",
            "viewer PURGE "
                + ID
                + " 403 role OUTBOX_OPERATOR required (outbox.relay.management.operator-role)",
            "operator PURGE "
                + ID
                + " 403 replay and purge are off: they need Spring Security to identify the caller"
                + " and the role OUTBOX_OPERATOR (outbox.relay.management.operator-role)");
  }

  @Test
  void idsThatAreNotUuidsAreRefusedWith400AndRecorded() {
    SecurityContext operator = caller("operator", "OUTBOX_OPERATOR");
    WebEndpointResponse<?> replay = endpoint(true).replay(operator, ID + ",nope");
    WebEndpointResponse<?> purge = endpoint(true).purge(operator, "nope");
    assertThat(replay.getStatus()).isEqualTo(400);
    assertThat(purge.getStatus()).isEqualTo(400);
    assertThat(parked.calls).doesNotContain("replay [" + ID + "]");
    assertThat(parked.refusals)
        .containsExactly(
            "operator REPLAY " + ID + ",nope 400 ids must be UUIDs separated by commas, or all",
            "operator PURGE nope 400 ids must be UUIDs separated by commas, or all");
  }

  /** Issue 21: groups, and replay or purge of a filter in batches, through the same checks. */
  @Test
  void groupsAreListedAndAFilterIsReplayedOrPurgedInBatchesOnlyByTheOperator() {
    SecurityContext operator = caller("operator", "OUTBOX_OPERATOR");
    assertThat(endpoint(true).list(operator, null, true, "abc", null, null, null, null))
        .containsKey("groups");
    WebEndpointResponse<?> viewer =
        endpoint(true)
            .replay(caller("viewer", "VIEWER"), null, "abc", null, null, null, null, null, null);
    assertThat(viewer.getStatus()).isEqualTo(403);
    WebEndpointResponse<?> nothing =
        endpoint(true).replay(operator, null, null, null, null, null, null, null, null);
    assertThat(nothing.getStatus()).isEqualTo(400);
    WebEndpointResponse<?> badSince =
        endpoint(true).purgeMatching(operator, null, null, null, null, "yesterday", null, null);
    assertThat(badSince.getStatus()).isEqualTo(400);
    WebEndpointResponse<?> replay =
        endpoint(true).replay(operator, null, "abc", "denied%", null, "order", null, null, 50);
    assertThat(replay.getStatus()).isEqualTo(200);
    assertThat(replay.getBody().toString()).contains("replayed=1", "batches=1");
    WebEndpointResponse<?> dry =
        endpoint(true).purgeMatching(operator, null, null, "Paid", null, null, true, null);
    assertThat(dry.getBody().toString()).contains("dryRun=true", "matched=0");
    WebEndpointResponse<?> purge =
        endpoint(true).purgeMatching(operator, "abc", null, null, null, null, false, null);
    assertThat(purge.getStatus()).isEqualTo(200);
    assertThat(parked.calls)
        .contains(
            "groups group=abc",
            "replay group=abc error-like=denied% aggregate-type=order batch 50",
            "groups type=Paid",
            "purge group=abc batch 500");
    assertThat(parked.refusals)
        .containsExactly(
            "viewer REPLAY group=abc 403 role OUTBOX_OPERATOR required"
                + " (outbox.relay.management.operator-role)",
            "operator REPLAY null null null null null 400 name ids (or all), a group or a filter"
                + " (errorLike, type, aggregateType, since)",
            "operator PURGE null null null null yesterday 400 since must be an instant like"
                + " 2026-12-06T03:00:00Z or an age like 30m, 2h, 7d but was 'yesterday'");
  }

  @Test
  void aListingIsMadeAsTheCaller() {
    endpoint(true).list(caller("viewer", "VIEWER"), 5);
    assertThat(parked.calls).containsExactly("as AuditActor[principal=viewer, sourceAddress=null]");
  }

  @Test
  void aRoleWithThePrefixIsRejectedNamingTheProperty() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> new OutboxParkedEventsEndpoint(() -> parked, true, "ROLE_X"))
        .withMessageContaining("outbox.relay.management.operator-role");
  }
}
