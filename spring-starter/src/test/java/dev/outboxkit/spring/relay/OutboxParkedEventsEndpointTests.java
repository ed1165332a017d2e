package dev.outboxkit.spring.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

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
    assertThat(endpoint.list(null)).containsEntry("count", 1L);
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
        .containsExactly("replay [" + ID + "]", "replayAll", "purge [" + ID + "]");
  }

  @Test
  void aRoleWithThePrefixIsRejectedNamingTheProperty() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> new OutboxParkedEventsEndpoint(() -> parked, true, "ROLE_X"))
        .withMessageContaining("outbox.relay.management.operator-role");
  }
}
