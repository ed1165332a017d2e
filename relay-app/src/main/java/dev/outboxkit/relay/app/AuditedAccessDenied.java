package dev.outboxkit.relay.app;

import dev.outboxkit.relay.AuditActor;
import dev.outboxkit.relay.AuditEntry;
import dev.outboxkit.relay.OutboxRelay;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.security.Principal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.security.access.AccessDeniedException;
import org.springframework.security.web.access.AccessDeniedHandler;
import org.springframework.security.web.access.AccessDeniedHandlerImpl;

/**
 * Records in the audit trail a replay or purge that Spring Security refused (403) before it reached
 * the endpoint: an authenticated caller without the operator role. The trail sanitises and caps
 * what it stores; the request body is not read. Then answers 403 as usual.
 */
final class AuditedAccessDenied implements AccessDeniedHandler {

  private static final Logger log = LoggerFactory.getLogger(AuditedAccessDenied.class);

  private final OutboxRelay relay;
  private final String operatorRole;
  private final AccessDeniedHandler delegate = new AccessDeniedHandlerImpl();

  AuditedAccessDenied(OutboxRelay relay, String operatorRole) {
    this.relay = relay;
    this.operatorRole = operatorRole;
  }

  @Override
  public void handle(
      HttpServletRequest request, HttpServletResponse response, AccessDeniedException denied)
      throws IOException, ServletException {
    String path = request.getRequestURI();
    if (path != null && path.contains("/outboxparked") && !"GET".equals(request.getMethod())) {
      Principal principal = request.getUserPrincipal();
      String name = principal == null ? "anonymous" : principal.getName();
      try {
        relay
            .parkedEvents()
            .auditTrail()
            .refused(
                new AuditActor(
                    name == null || name.isBlank() ? "anonymous" : name, request.getRemoteAddr()),
                "DELETE".equals(request.getMethod())
                    ? AuditEntry.Operation.PURGE
                    : AuditEntry.Operation.REPLAY,
                request.getMethod() + " " + path,
                "403 role " + operatorRole + " required (outbox.relay.management.operator-role)");
      } catch (RuntimeException e) {
        // The refusal stands; the trail's own log line already carries the record.
        log.warn("Could not record a refused management call in the audit trail", e);
      }
    }
    delegate.handle(request, response, denied);
  }
}
