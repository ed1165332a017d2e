package dev.outboxkit.spring;

import jakarta.servlet.http.HttpServletRequest;
import org.jspecify.annotations.Nullable;
import org.springframework.util.ClassUtils;
import org.springframework.web.context.request.RequestAttributes;
import org.springframework.web.context.request.RequestContextHolder;
import org.springframework.web.context.request.ServletRequestAttributes;

/**
 * The address of the HTTP client calling an actuator operation, for the audit trail. Actuator
 * operations do not see the request, but Spring MVC binds it to the thread. Behind a proxy this is
 * the proxy's address unless {@code server.forward-headers-strategy} is set. {@code null} outside a
 * servlet request (JMX, direct calls) or without Spring MVC on the class path.
 */
final class RequestSource {

  private static final boolean SERVLET =
      ClassUtils.isPresent(
              "org.springframework.web.context.request.RequestContextHolder",
              RequestSource.class.getClassLoader())
          && ClassUtils.isPresent(
              "jakarta.servlet.http.HttpServletRequest", RequestSource.class.getClassLoader());

  private RequestSource() {}

  static @Nullable String address() {
    return SERVLET ? Servlet.address() : null;
  }

  /** Loaded only when the servlet and Spring Web classes exist. */
  private static final class Servlet {
    static @Nullable String address() {
      RequestAttributes attributes = RequestContextHolder.getRequestAttributes();
      if (attributes instanceof ServletRequestAttributes servlet) {
        HttpServletRequest request = servlet.getRequest();
        return request.getRemoteAddr();
      }
      return null;
    }
  }
}
