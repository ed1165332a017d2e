package dev.outboxkit.spring;

import dev.outboxkit.relay.AuditEntry;
import dev.outboxkit.relay.ParkedEvents;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;

/**
 * {@code /actuator/outboxaudit}: the audit trail of operations on parked events, newest first.
 * {@code ?limit=} (default 50, at most 1000) and {@code ?before=} (the {@code next} value of the
 * previous page) page through it. It names operators and event ids: expose it to the same people as
 * {@code outboxparked} (the relay app asks for an authenticated reader or operator).
 */
@Endpoint(id = "outboxaudit")
public final class OutboxAuditEndpoint {

  private final Supplier<ParkedEvents> parked;

  /**
   * @param parked the parked events whose trail to show, asked for at each call
   */
  public OutboxAuditEndpoint(Supplier<ParkedEvents> parked) {
    this.parked = Objects.requireNonNull(parked, "parked");
  }

  /**
   * @param limit the most records, default 50, at most 1000
   * @param before only records older than this id (paging), or {@code null} for the newest
   */
  @ReadOperation
  public Map<String, Object> entries(@Nullable Integer limit, @Nullable Long before) {
    int n = limit == null ? 50 : Math.min(1000, Math.max(1, limit));
    List<AuditEntry> entries = parked.get().auditTrail().list(n, before);
    Map<String, Object> page = new LinkedHashMap<>();
    page.put("entries", entries);
    if (entries.size() == n) {
      page.put("next", entries.get(entries.size() - 1).id());
    }
    return page;
  }
}
