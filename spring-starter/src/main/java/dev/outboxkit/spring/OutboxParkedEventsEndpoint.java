package dev.outboxkit.spring;

import dev.outboxkit.relay.ParkedEvent;
import dev.outboxkit.relay.ParkedEvents;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.actuate.endpoint.annotation.DeleteOperation;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;

/**
 * {@code /actuator/outboxparked}: the operator's view of parked events. {@code GET} lists the
 * oldest (default 100, {@code ?limit=}), {@code POST} with {@code {"ids": [...]}} or {@code {"all":
 * true}} puts them back in the queue, {@code DELETE /actuator/outboxparked/{id}} deletes one for
 * good. Expose it like any endpoint ({@code management.endpoints.web.exposure.include}) and secure
 * it: replay and purge change data.
 */
@Endpoint(id = "outboxparked")
public final class OutboxParkedEventsEndpoint {

  private final ParkedEvents parked;

  /**
   * @param parked the parked events of the relay's outbox
   */
  public OutboxParkedEventsEndpoint(ParkedEvents parked) {
    this.parked = parked;
  }

  /**
   * @param limit the most events to list, default 100
   */
  @ReadOperation
  public Map<String, Object> list(@Nullable Integer limit) {
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("count", parked.count());
    List<ParkedEvent> events = parked.list(limit == null ? 100 : Math.max(1, limit));
    result.put("events", events);
    return result;
  }

  /**
   * @param ids comma-separated ids of the events to replay, or {@code all} for every parked event
   */
  @WriteOperation
  public Map<String, Object> replay(String ids) {
    int replayed =
        ids.strip().equalsIgnoreCase("all")
            ? parked.replayAll()
            : parked.replay(
                Arrays.stream(ids.split(","))
                    .map(String::strip)
                    .filter(id -> !id.isEmpty())
                    .map(UUID::fromString)
                    .toList());
    return Map.of("replayed", replayed);
  }

  /**
   * @param id the event to delete for good
   */
  @DeleteOperation
  public Map<String, Object> purge(@Selector String id) {
    return Map.of("purged", parked.purge(List.of(UUID.fromString(id))));
  }
}
