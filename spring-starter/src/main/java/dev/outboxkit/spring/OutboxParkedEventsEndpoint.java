package dev.outboxkit.spring;

import dev.outboxkit.relay.ParkedEvent;
import dev.outboxkit.relay.ParkedEvents;
import java.security.Principal;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.actuate.endpoint.SecurityContext;
import org.springframework.boot.actuate.endpoint.annotation.DeleteOperation;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;

/**
 * {@code /actuator/outboxparked}: the operator's view of parked events. {@code GET} lists the
 * oldest (default 100, {@code ?limit=}), {@code POST} with {@code {"ids": "id1,id2"}} or {@code
 * {"ids": "all"}} puts them back in the queue, {@code DELETE /actuator/outboxparked/{id}} deletes
 * one for good.
 *
 * <p>Safe by default: replay and purge change data, so they run only for a caller that the
 * application authenticated (Spring Security) and that has the operator role ({@code
 * outbox.relay.management.operator-role}, default {@code OUTBOX_OPERATOR}); otherwise they answer
 * 401 (no caller) or 403 (another role, or no Spring Security at all: writes are then off) and
 * change nothing. Reads stay available wherever the endpoint is exposed. Every write, and every
 * refused write, is logged to the {@code dev.outboxkit.audit} logger with the caller's name.
 */
@Endpoint(id = "outboxparked")
public final class OutboxParkedEventsEndpoint {

  private static final Logger audit = LoggerFactory.getLogger("dev.outboxkit.audit");

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
   * @param limit the most events to list, default 100
   */
  @ReadOperation
  public Map<String, Object> list(@Nullable Integer limit) {
    ParkedEvents events = parked.get();
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("count", events.count());
    List<ParkedEvent> listed = events.list(limit == null ? 100 : Math.max(1, limit));
    result.put("events", listed);
    return result;
  }

  /**
   * @param security who calls
   * @param ids comma-separated ids of the events to replay, or {@code all} for every parked event
   */
  @WriteOperation
  public WebEndpointResponse<Map<String, Object>> replay(SecurityContext security, String ids) {
    WebEndpointResponse<Map<String, Object>> refused = refuse(security, "replay", ids);
    if (refused != null) {
      return refused;
    }
    int replayed =
        ids.strip().equalsIgnoreCase("all")
            ? parked.get().replayAll()
            : parked.get().replay(uuids(ids));
    audit.info(
        "outboxparked replay by {}: ids={} replayed={}", name(security), ids.strip(), replayed);
    return new WebEndpointResponse<>(Map.of("replayed", replayed));
  }

  /**
   * @param security who calls
   * @param id the event to delete for good
   */
  @DeleteOperation
  public WebEndpointResponse<Map<String, Object>> purge(
      SecurityContext security, @Selector String id) {
    WebEndpointResponse<Map<String, Object>> refused = refuse(security, "purge", id);
    if (refused != null) {
      return refused;
    }
    int purged = parked.get().purge(List.of(UUID.fromString(id)));
    audit.info("outboxparked purge by {}: id={} purged={}", name(security), id, purged);
    return new WebEndpointResponse<>(Map.of("purged", purged));
  }

  private @Nullable WebEndpointResponse<Map<String, Object>> refuse(
      SecurityContext security, String operation, String ids) {
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
    audit.warn(
        "outboxparked {} refused ({}) for {}: ids={}", operation, status, name(security), ids);
    return new WebEndpointResponse<>(Map.of("error", reason), status);
  }

  private static String name(SecurityContext security) {
    Principal principal = security.getPrincipal();
    return principal == null ? "anonymous" : principal.getName();
  }

  private static List<UUID> uuids(String ids) {
    return Arrays.stream(ids.split(","))
        .map(String::strip)
        .filter(id -> !id.isEmpty())
        .map(UUID::fromString)
        .toList();
  }
}
