package dev.outboxkit.spring.autoconfigure;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.env.Environment;

/**
 * Start-up warnings about where the HTTP filter finds the caller that scopes a key. Without any
 * source every keyed request is refused (403), and with the shared anonymous scope unauthenticated
 * callers share keys; both are worth a line in the log before the first request.
 */
final class IdempotencyScopeChecks {

  private static final Logger log = LoggerFactory.getLogger(IdempotencyScopeChecks.class);

  private IdempotencyScopeChecks() {}

  static void warnAboutScopeSources(
      IdempotencyProperties.Http http,
      boolean customResolver,
      boolean springSecurity,
      Environment environment,
      int filterOrder) {
    boolean clientHeader = http.clientHeader() != null && !http.clientHeader().isBlank();
    if (http.sharedAnonymousScope()) {
      log.warn(
          "outbox.idempotency.http.shared-anonymous-scope=true: keyed requests without an"
              + " authenticated caller share one scope, so one caller can receive another's stored"
              + " response or pre-claim its key");
    } else if (!customResolver && !clientHeader && !springSecurity) {
      log.warn(
          "The Idempotency-Key filter has no source of callers: no Spring Security filter chain,"
              + " no outbox.idempotency.http.client-header and no IdempotencyScopeResolver bean."
              + " Keyed requests without an authenticated principal are refused with 403; define"
              + " a resolver, or set outbox.idempotency.http.shared-anonymous-scope=true to share"
              + " one scope knowingly");
    }
    if (springSecurity) {
      Integer securityOrder =
          environment.getProperty("spring.security.filter.order", Integer.class, -100);
      if (securityOrder >= filterOrder) {
        log.warn(
            "spring.security.filter.order={} puts Spring Security after the Idempotency-Key filter"
                + " (order {}): the filter sees no principal and refuses keyed requests with 403"
                + " (or, with a client header or the shared anonymous scope, scopes them without"
                + " the user). Keep spring.security.filter.order below {}",
            securityOrder,
            filterOrder,
            filterOrder);
      }
    }
  }
}
