package dev.outboxkit.spring;

import dev.outboxkit.relay.AuditActor;
import dev.outboxkit.relay.AuditEntry.Operation;
import dev.outboxkit.relay.BulkResult;
import dev.outboxkit.relay.ParkedEvent;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.relay.ParkedFilter;
import dev.outboxkit.relay.ParkedGroup;
import java.security.Principal;
import java.time.Clock;
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
 * <p>Grouped by failure: {@code GET ?groups=true} lists the {@link ParkedGroup failure groups};
 * {@code POST} with a filter instead of ids ({@code group}, {@code errorLike}, {@code type}, {@code
 * aggregateType}, {@code since}: an instant or an age like {@code 2h}) replays every matching event
 * in batches ({@code batchSize}, default 500), {@code DELETE /actuator/outboxparked?group=…} purges
 * them; {@code dryRun=true} answers what would be done and changes nothing. Each batch is one
 * transaction with one audit record naming the filter and the ids. The same filters narrow {@code
 * GET}.
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

  /** Events per transaction of a bulk replay or purge unless {@code batchSize} says otherwise. */
  public static final int DEFAULT_BATCH = 500;

  private final Supplier<ParkedEvents> parked;
  private final boolean writesEnabled;
  private final String operatorRole;
  private final Clock clock = Clock.systemUTC();

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
  public Map<String, Object> list(SecurityContext security, @Nullable Integer limit) {
    return list(security, limit, null, null, null, null, null, null);
  }

  /**
   * @param security who calls (recorded in the audit trail)
   * @param limit the most events to list, default 100, at most {@value #MAX_LIST}
   * @param groups {@code true} for the failure groups instead of events
   * @param group only this failure group ({@link dev.outboxkit.relay.FailureFingerprint#id()})
   * @param errorLike only events whose last error is like this ({@link ParkedFilter#errorLike()})
   * @param type only this event type
   * @param aggregateType only this aggregate type
   * @param since only events appended since (an instant, or an age such as {@code 2h})
   */
  @ReadOperation
  public Map<String, Object> list(
      SecurityContext security,
      @Nullable Integer limit,
      @Nullable Boolean groups,
      @Nullable String group,
      @Nullable String errorLike,
      @Nullable String type,
      @Nullable String aggregateType,
      @Nullable String since) {
    ParkedEvents events = parked.get();
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("count", events.count());
    ParkedFilter filter = filter(group, errorLike, type, aggregateType, since);
    ParkedEvents asCaller = events.as(actor(security));
    if (Boolean.TRUE.equals(groups)) {
      result.put("groups", asCaller.groups(filter));
      return result;
    }
    int n = limit == null ? 100 : Math.min(MAX_LIST, Math.max(1, limit));
    List<ParkedEvent> listed = filter.isAll() ? asCaller.list(n) : asCaller.list(filter, n);
    result.put("events", listed);
    return result;
  }

  /**
   * @param security who calls
   * @param ids comma-separated ids of the events to replay, or {@code all} for every parked event
   */
  public WebEndpointResponse<Map<String, Object>> replay(SecurityContext security, String ids) {
    return replay(security, ids, null, null, null, null, null, null, null);
  }

  /**
   * Replays by ids, or by filter in batches.
   *
   * @param security who calls
   * @param ids comma-separated ids of the events to replay, or {@code all}; {@code null} to replay
   *     by filter
   * @param group a failure group
   * @param errorLike errors like this
   * @param type an event type
   * @param aggregateType an aggregate type
   * @param since appended since (an instant, or an age such as {@code 2h})
   * @param dryRun {@code true}: answer what would be replayed, change nothing
   * @param batchSize events per transaction, default {@value #DEFAULT_BATCH}
   */
  @WriteOperation
  public WebEndpointResponse<Map<String, Object>> replay(
      SecurityContext security,
      @Nullable String ids,
      @Nullable String group,
      @Nullable String errorLike,
      @Nullable String type,
      @Nullable String aggregateType,
      @Nullable String since,
      @Nullable Boolean dryRun,
      @Nullable Integer batchSize) {
    if (ids == null) {
      return bulk(
          security,
          Operation.REPLAY,
          new String[] {group, errorLike, type, aggregateType, since},
          dryRun,
          batchSize);
    }
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

  /**
   * Purges every parked event that matches a filter, in batches.
   *
   * @param security who calls
   * @param group a failure group
   * @param errorLike errors like this
   * @param type an event type
   * @param aggregateType an aggregate type
   * @param since appended since (an instant, or an age such as {@code 2h})
   * @param dryRun {@code true}: answer what would be purged, change nothing
   * @param batchSize events per transaction, default {@value #DEFAULT_BATCH}
   */
  @DeleteOperation
  public WebEndpointResponse<Map<String, Object>> purgeMatching(
      SecurityContext security,
      @Nullable String group,
      @Nullable String errorLike,
      @Nullable String type,
      @Nullable String aggregateType,
      @Nullable String since,
      @Nullable Boolean dryRun,
      @Nullable Integer batchSize) {
    return bulk(
        security,
        Operation.PURGE,
        new String[] {group, errorLike, type, aggregateType, since},
        dryRun,
        batchSize);
  }

  /** A replay or purge by filter: authorised, validated, dry or in batches, all audited. */
  private WebEndpointResponse<Map<String, Object>> bulk(
      SecurityContext security,
      Operation operation,
      @Nullable String[] conditions,
      @Nullable Boolean dryRun,
      @Nullable Integer batchSize) {
    String asked =
        String.join(" ", java.util.Arrays.stream(conditions).map(String::valueOf).toList());
    ParkedFilter filter;
    try {
      filter = filter(conditions[0], conditions[1], conditions[2], conditions[3], conditions[4]);
    } catch (IllegalArgumentException e) {
      return invalid(security, operation, asked, e.getMessage());
    }
    String target = filter.describe();
    if (!Boolean.TRUE.equals(dryRun)) {
      WebEndpointResponse<Map<String, Object>> refused = refuse(security, operation, target);
      if (refused != null) {
        return refused;
      }
    }
    if (filter.isAll()) {
      return invalid(
          security,
          operation,
          asked,
          "name ids (or all), a group or a filter (errorLike, type," + " aggregateType, since)");
    }
    int batch = batchSize == null ? DEFAULT_BATCH : batchSize;
    if (batch < 1 || batch > 10_000) {
      return invalid(security, operation, asked, "batchSize must be 1 to 10000");
    }
    ParkedEvents events = parked.get().as(actor(security));
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("filter", target);
    if (Boolean.TRUE.equals(dryRun)) {
      List<ParkedGroup> groups = events.groups(filter);
      result.put("dryRun", true);
      result.put("matched", groups.stream().mapToLong(ParkedGroup::count).sum());
      result.put("groups", groups);
      return new WebEndpointResponse<>(result);
    }
    BulkResult done =
        operation == Operation.REPLAY
            ? events.replay(filter, batch, progress -> {})
            : events.purge(filter, batch, progress -> {});
    result.put(operation == Operation.REPLAY ? "replayed" : "purged", done.changed());
    result.put("matched", done.matched());
    result.put("batches", done.batches());
    return new WebEndpointResponse<>(result);
  }

  private ParkedFilter filter(
      @Nullable String group,
      @Nullable String errorLike,
      @Nullable String type,
      @Nullable String aggregateType,
      @Nullable String since) {
    return ParkedFilter.all()
        .withGroup(blankToNull(group))
        .withErrorLike(blankToNull(errorLike))
        .withEventType(blankToNull(type))
        .withAggregateType(blankToNull(aggregateType))
        .withSince(blankToNull(since) == null ? null : ParkedFilter.since(since, clock.instant()));
  }

  private static @Nullable String blankToNull(@Nullable String text) {
    return text == null || text.isBlank() ? null : text;
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
    return invalid(security, operation, ids, "ids must be UUIDs separated by commas, or all");
  }

  private WebEndpointResponse<Map<String, Object>> invalid(
      SecurityContext security, Operation operation, String ids, String reason) {
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
