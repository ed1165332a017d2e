package dev.outboxkit.spring;

import dev.outboxkit.relay.AuditActor;
import dev.outboxkit.relay.AuditEntry.Operation;
import dev.outboxkit.relay.ParkedEvent;
import dev.outboxkit.relay.ParkedEvents;
import java.security.Principal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.actuate.endpoint.SecurityContext;
import org.springframework.boot.actuate.endpoint.annotation.DeleteOperation;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;

/**
 * {@code /actuator/outboxparked}: the operator's view of parked events. {@code GET} lists the
 * oldest (default 100, at most 1000, {@code ?limit=}), {@code POST} with {@code {"ids": "id1,id2"}}
 * or {@code {"ids": "all"}} puts them back in the queue, {@code DELETE /actuator/outboxparked/{id}}
 * deletes one for good.
 *
 * <p>Safe by default: replay and purge change data, so they run only for a caller that the
 * application authenticated (Spring Security) and that has the operator role ({@code
 * outbox.relay.management.operator-role}, default {@code OUTBOX_OPERATOR}); otherwise they answer
 * 401 (no caller) or 403 (another role, or no Spring Security at all: writes are then off) and
 * change nothing. Reads stay available wherever the endpoint is exposed.
 *
 * <p>Everything is audited ({@link dev.outboxkit.relay.AuditTrail}, listed by {@link
 * OutboxAuditEndpoint}): listings, replays and purges write their record in the same transaction,
 * with the caller's name and address; refused calls (including ids that are not UUIDs, answered
 * 400) are recorded too. Caller-supplied text reaches the trail and its log only sanitised and
 * capped.
 */
@Endpoint(id = "outboxparked")
public final class OutboxParkedEventsEndpoint {

  /** The most events one listing returns. */
  public static final int MAX_LIST = 1000;

  private final Supplier<ParkedEvents> parked;
  private final boolean writesEnabled;
  private final String operatorRole;

  /**
   * @param parked the parked events of the relay's outbox, asked for at each operation (a relay
   *     hands them out only once it started)
   * @param writesEnabled whether replay and purge may run at all: {@code true} only when an
   *     authentication layer (Spring Security) identifies callers
   * @param operatorRole the role a caller needs for replay and purge, without {@code ROLE_}
   */
  public OutboxParkedEventsEndpoint(
      Supplier<ParkedEvents> parked, boolean writesEnabled, String operatorRole) {
    this.parked = Objects.requireNonNull(parked, "parked");
    this.writesEnabled = writesEnabled;
    if (operatorRole == null || operatorRole.isBlank() || operatorRole.startsWith("ROLE_")) {
      throw new IllegalArgumentException(
          "outbox.relay.management.operator-role must be a role name without the ROLE_ prefix"
              + " but was '"
              + operatorRole
              + "'");
    }
    this.operatorRole = operatorRole;
  }

  /**
   * @param security who calls (recorded in the audit trail)
   * @param limit the most events to list, default 100, at most {@value #MAX_LIST}
   */
  @ReadOperation
  public Map<String, Object> list(SecurityContext security, @Nullable Integer limit) {
    ParkedEvents events = parked.get();
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("count", events.count());
    int n = limit == null ? 100 : Math.min(MAX_LIST, Math.max(1, limit));
    List<ParkedEvent> listed = events.as(actor(security)).list(n);
    result.put("events", listed);
    return result;
  }

  /**
   * @param security who calls
   * @param ids comma-separated ids of the events to replay, or {@code all} for every parked event
   */
  @WriteOperation
  public WebEndpointResponse<Map<String, Object>> replay(SecurityContext security, String ids) {
    WebEndpointResponse<Map<String, Object>> refused = refuse(security, Operation.REPLAY, ids);
    if (refused != null) {
      return refused;
    }
    ParkedEvents events = parked.get().as(actor(security));
    if (ids.strip().equalsIgnoreCase("all")) {
      return new WebEndpointResponse<>(Map.of("replayed", events.replayAll()));
    }
    List<UUID> parsed = uuids(ids);
    if (parsed == null) {
      return invalid(security, Operation.REPLAY, ids);
    }
    return new WebEndpointResponse<>(Map.of("replayed", events.replay(parsed)));
  }

  /**
   * @param security who calls
   * @param id the event to delete for good
   */
  @DeleteOperation
  public WebEndpointResponse<Map<String, Object>> purge(
      SecurityContext security, @Selector String id) {
    WebEndpointResponse<Map<String, Object>> refused = refuse(security, Operation.PURGE, id);
    if (refused != null) {
      return refused;
    }
    List<UUID> parsed = uuids(id);
    if (parsed == null || parsed.size() != 1) {
      return invalid(security, Operation.PURGE, id);
    }
    int purged = parked.get().as(actor(security)).purge(parsed);
    return new WebEndpointResponse<>(Map.of("purged", purged));
  }

  private @Nullable WebEndpointResponse<Map<String, Object>> refuse(
      SecurityContext security, Operation operation, String ids) {
    Principal principal = security.getPrincipal();
    String reason;
    int status;
    if (!writesEnabled) {
      status = 403;
      reason =
          "replay and purge are off: they need Spring Security to identify the caller and the role "
              + operatorRole
              + " (outbox.relay.management.operator-role)";
    } else if (principal == null) {
      status = 401;
      reason = "authentication required";
    } else if (!security.isUserInRole(operatorRole)) {
      status = 403;
      reason = "role " + operatorRole + " required (outbox.relay.management.operator-role)";
    } else {
      return null;
    }
    parked.get().auditTrail().refused(actor(security), operation, ids, status + " " + reason);
    return new WebEndpointResponse<>(Map.of("error", reason), status);
  }

  private WebEndpointResponse<Map<String, Object>> invalid(
      SecurityContext security, Operation operation, String ids) {
    String reason = "ids must be UUIDs separated by commas, or all";
    parked.get().auditTrail().refused(actor(security), operation, ids, "400 " + reason);
    return new WebEndpointResponse<>(Map.of("error", reason), 400);
  }

  static AuditActor actor(SecurityContext security) {
    Principal principal = security.getPrincipal();
    String name = principal == null ? null : principal.getName();
    return new AuditActor(
        name == null || name.isBlank() ? "anonymous" : name, RequestSource.address());
  }

  /** The ids, or {@code null} when one of them is not a UUID. */
  private static @Nullable List<UUID> uuids(String ids) {
    List<UUID> parsed = new ArrayList<>();
    for (String id : ids.split(",", -1)) {
      String trimmed = id.strip();
      if (trimmed.isEmpty()) {
        continue;
      }
      try {
        parsed.add(UUID.fromString(trimmed));
      } catch (IllegalArgumentException e) {
        return null;
      }
    }
    return parsed;
  }
}
