package dev.outboxkit.relay.app;

import jakarta.servlet.DispatcherType;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.security.autoconfigure.actuate.web.servlet.EndpointRequest;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.annotation.web.configurers.AbstractHttpConfigurer;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.util.matcher.AndRequestMatcher;
import org.springframework.security.web.util.matcher.RequestMatcher;

/**
 * Who may do what on the relay app's management port. Probes, Prometheus and info are open (the
 * kubelet and Prometheus do not log in); health details are shown to the operator role only ({@code
 * management.endpoint.health.roles}); listing parked events needs any authenticated user, replaying
 * and purging them the operator role, checked here and again by the endpoint itself. HTTP Basic, no
 * sessions, so no cookies and no CSRF tokens. Everything else is denied: the relay serves nothing
 * on its application port. Users come from {@code spring.security.user.*} (one user, e.g. from a
 * Kubernetes Secret) or from a {@code UserDetailsService} bean.
 */
@Configuration(proxyBeanMethods = false)
class ManagementSecurityConfiguration {

  @Bean
  SecurityFilterChain managementSecurity(
      HttpSecurity http,
      @Value("${outbox.relay.management.operator-role:OUTBOX_OPERATOR}") String operatorRole)
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
                    .authenticated()
                    .anyRequest()
                    .denyAll())
        .httpBasic(Customizer.withDefaults())
        .csrf(AbstractHttpConfigurer::disable)
        .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS));
    return http.build();
  }
}
