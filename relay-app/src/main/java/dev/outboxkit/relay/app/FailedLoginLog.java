package dev.outboxkit.relay.app;

import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.security.core.AuthenticationException;
import org.springframework.security.web.AuthenticationEntryPoint;

/**
 * Logs a failed login on the management port, then answers as the wrapped entry point does. A
 * request that carried credentials (an {@code Authorization} header) that were refused is a failed
 * login; one without credentials is only a challenge and is not logged. Logged: the scheme, the
 * Basic user name (never the password; never any part of a bearer token), the client address and
 * why. Every value is stripped of control characters and capped, so the log cannot be forged.
 */
final class FailedLoginLog implements AuthenticationEntryPoint {

  private static final Logger log = LoggerFactory.getLogger("dev.outboxkit.audit.login");

  private final String scheme;
  private final AuthenticationEntryPoint delegate;

  FailedLoginLog(String scheme, AuthenticationEntryPoint delegate) {
    this.scheme = scheme;
    this.delegate = delegate;
  }

  @Override
  public void commence(
      HttpServletRequest request, HttpServletResponse response, AuthenticationException failure)
      throws IOException, ServletException {
    String header = request.getHeader("Authorization");
    if (header != null && !header.isBlank()) {
      log.atWarn()
          .addKeyValue("login.scheme", scheme)
          .addKeyValue("login.user", user(header))
          .addKeyValue("login.source", clean(request.getRemoteAddr()))
          .addKeyValue("login.reason", failure.getClass().getSimpleName())
          .log(
              "management login failed scheme={} user={} source={} reason={}",
              scheme,
              user(header),
              clean(request.getRemoteAddr()),
              clean(failure.getClass().getSimpleName() + ": " + failure.getMessage()));
    }
    delegate.commence(request, response, failure);
  }

  /** The Basic user name, or "-": a bearer token is never decoded or printed. */
  private static String user(String header) {
    if (!header.regionMatches(true, 0, "Basic ", 0, 6)) {
      return "-";
    }
    try {
      String decoded =
          new String(
              Base64.getDecoder().decode(header.substring(6).strip()), StandardCharsets.UTF_8);
      int colon = decoded.indexOf(':');
      return '"' + clean(colon < 0 ? "" : decoded.substring(0, colon)) + '"';
    } catch (IllegalArgumentException e) {
      return "(not Base64)";
    }
  }

  static String clean(String value) {
    if (value == null) {
      return "-";
    }
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < value.length() && out.length() < 200; i++) {
      char c = value.charAt(i);
      out.append(
          Character.isISOControl(c) || Character.getType(c) == Character.LINE_SEPARATOR
              ? '?'
              : c == '"' ? '\'' : c);
    }
    return out.toString();
  }
}
