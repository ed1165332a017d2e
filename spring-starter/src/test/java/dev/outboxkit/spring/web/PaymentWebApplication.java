package dev.outboxkit.spring.web;

import dev.outboxkit.test.MutableClock;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.security.Principal;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * A payment API with idempotent endpoints, for the HTTP tests. Spring Security is on the test
 * classpath (for the JWT tests in {@code dev.outboxkit.spring.jwt}); this application keeps its
 * header-driven stand-in instead, so its auto-configuration is left out.
 */
@SpringBootApplication(
    excludeName = {
      "org.springframework.boot.security.autoconfigure.SecurityAutoConfiguration",
      "org.springframework.boot.security.autoconfigure.UserDetailsServiceAutoConfiguration",
      "org.springframework.boot.security.autoconfigure.web.servlet.SecurityFilterAutoConfiguration",
      "org.springframework.boot.security.autoconfigure.web.servlet.ServletWebSecurityAutoConfiguration",
      "org.springframework.boot.security.autoconfigure.actuate.web.servlet"
          + ".ManagementWebSecurityAutoConfiguration"
    })
public class PaymentWebApplication {

  @Bean
  MutableClock clock() {
    return new MutableClock();
  }

  /** Stands in for Spring Security: authenticates the user named in X-Test-User. */
  @Bean
  FilterRegistrationBean<OncePerRequestFilter> testAuthentication() {
    FilterRegistrationBean<OncePerRequestFilter> registration =
        new FilterRegistrationBean<>(
            new OncePerRequestFilter() {
              @Override
              protected void doFilterInternal(
                  HttpServletRequest request, HttpServletResponse response, FilterChain chain)
                  throws ServletException, IOException {
                String user = request.getHeader("X-Test-User");
                if (user == null) {
                  chain.doFilter(request, response);
                  return;
                }
                Principal principal = () -> user;
                chain.doFilter(
                    new HttpServletRequestWrapper(request) {
                      @Override
                      public Principal getUserPrincipal() {
                        return principal;
                      }
                    },
                    response);
              }
            });
    registration.setOrder(-100); // where Spring Security's filter chain sits
    return registration;
  }
}
