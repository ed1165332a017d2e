package dev.outboxkit.relay.app;

import dev.outboxkit.relay.OutboxRelay;
import jakarta.servlet.DispatcherType;
import java.util.function.Supplier;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.security.autoconfigure.actuate.web.servlet.EndpointRequest;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.authentication.AnonymousAuthenticationToken;
import org.springframework.security.authorization.AuthorizationDecision;
import org.springframework.security.authorization.AuthorizationManager;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.annotation.web.configurers.AbstractHttpConfigurer;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.server.resource.authentication.JwtAuthenticationToken;
import org.springframework.security.oauth2.server.resource.web.BearerTokenAuthenticationEntryPoint;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.access.intercept.RequestAuthorizationContext;
import org.springframework.security.web.authentication.www.BasicAuthenticationEntryPoint;
import org.springframework.security.web.util.matcher.AndRequestMatcher;
import org.springframework.security.web.util.matcher.RequestMatcher;

/**
 * Who may do what on the relay app's management port. Probes, Prometheus and info are open (the
 * kubelet and Prometheus do not log in); health details are shown to the operator role only ({@code
 * management.endpoint.health.roles}); replaying and purging parked events need the operator role,
 * checked here and again by the endpoint itself (which records refusals in the audit trail); every
 * other endpoint (listing parked events, the audit trail) needs a reader. Everything else is
 * denied: the relay serves nothing on its application port. No sessions, so no cookies and no CSRF
 * tokens.
 *
 * <p>Two ways to log in, either or both:
 *
 * <ul>
 *   <li><b>OAuth2/OIDC bearer tokens (JWT)</b>, when a {@link JwtDecoder} exists (Spring Boot makes
 *       one from {@code spring.security.oauth2.resourceserver.jwt.issuer-uri}, {@code jwk-set-uri}
 *       or {@code public-key-location}). {@link JwtRoles} maps the token's scopes (and an optional
 *       roles claim) to the reader and operator roles; a token with neither is refused even for
 *       reads, since any token of the identity provider would otherwise do.
 *   <li><b>HTTP Basic</b>, when a {@link UserDetailsService} exists: {@code spring.security.user.*}
 *       (one user) or the application's own (per-person accounts, see docs/security.md). Any Basic
 *       user may read: an administrator created it for this purpose.
 * </ul>
 *
 * <p>A replay or purge refused here for want of the role is recorded in the audit trail ({@link
 * AuditedAccessDenied}). Failed logins (a request that carried credentials that were refused) are
 * logged by {@link FailedLoginLog} without the secret.
 */
@Configuration(proxyBeanMethods = false)
class ManagementSecurityConfiguration {

  @Bean
  SecurityFilterChain managementSecurity(
      HttpSecurity http,
      @Value("${outbox.relay.management.operator-role:OUTBOX_OPERATOR}") String operatorRole,
      @Value("${outbox.relay.management.reader-role:OUTBOX_READER}") String readerRole,
      ObjectProvider<JwtDecoder> jwtDecoder,
      ObjectProvider<UserDetailsService> users,
      ObjectProvider<JwtRoles> jwtRoles,
      OutboxRelay relay)
      throws Exception {
    RequestMatcher writes = request -> !"GET".equals(request.getMethod());
    http.authorizeHttpRequests(
            requests ->
                requests
                    .dispatcherTypeMatchers(DispatcherType.ERROR)
                    .permitAll()
                    .requestMatchers(EndpointRequest.to("health", "prometheus", "info"))
                    .permitAll()
                    .requestMatchers(
                        new AndRequestMatcher(EndpointRequest.to("outboxparked"), writes))
                    .hasRole(operatorRole)
                    .requestMatchers(EndpointRequest.toAnyEndpoint())
                    .access(reader(readerRole, operatorRole))
                    .anyRequest()
                    .denyAll())
        .exceptionHandling(e -> e.accessDeniedHandler(new AuditedAccessDenied(relay, operatorRole)))
        .csrf(AbstractHttpConfigurer::disable)
        .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS));
    boolean bearer = jwtDecoder.getIfAvailable() != null;
    if (users.getIfAvailable() != null || !bearer) {
      BasicAuthenticationEntryPoint basic = new BasicAuthenticationEntryPoint();
      basic.setRealmName("outbox-relay");
      http.httpBasic(b -> b.authenticationEntryPoint(new FailedLoginLog("basic", basic)));
    }
    if (bearer) {
      JwtRoles roles = jwtRoles.getIfAvailable(() -> JwtRoles.defaults(readerRole, operatorRole));
      http.oauth2ResourceServer(
          o ->
              o.jwt(jwt -> jwt.jwtAuthenticationConverter(roles::convert))
                  .authenticationEntryPoint(
                      new FailedLoginLog("bearer", new BearerTokenAuthenticationEntryPoint())));
    }
    return http.build();
  }

  /**
   * Reads: any Basic user (created by an administrator for this), but a bearer token only with the
   * reader or operator role mapped from its scopes.
   */
  private static AuthorizationManager<RequestAuthorizationContext> reader(
      String readerRole, String operatorRole) {
    return (Supplier<? extends Authentication> authentication, RequestAuthorizationContext c) -> {
      Authentication a = authentication.get();
      if (a == null || !a.isAuthenticated() || a instanceof AnonymousAuthenticationToken) {
        return new AuthorizationDecision(false);
      }
      if (!(a instanceof JwtAuthenticationToken)) {
        return new AuthorizationDecision(true);
      }
      return new AuthorizationDecision(
          a.getAuthorities().stream()
              .anyMatch(
                  g ->
                      g.getAuthority().equals("ROLE_" + readerRole)
                          || g.getAuthority().equals("ROLE_" + operatorRole)));
    };
  }
}
