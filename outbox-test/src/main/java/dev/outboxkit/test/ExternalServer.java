package dev.outboxkit.test;

import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Reads the settings that point tests at an external server instead of a server they start.
 *
 * <p>A system property {@code outboxkit.test.<server>.<setting>} wins over the environment variable
 * {@code OUTBOXKIT_TEST_<SERVER>_<SETTING>}.
 */
final class ExternalServer {

  private ExternalServer() {}

  static @Nullable String setting(String server, String setting) {
    String property = "outboxkit.test." + server + "." + setting.replace('_', '-');
    String value = System.getProperty(property);
    if (value == null || value.isBlank()) {
      value = System.getenv(envName(server, setting));
    }
    return value == null || value.isBlank() ? null : value.trim();
  }

  static String envName(String server, String setting) {
    return ("OUTBOXKIT_TEST_" + server + "_" + setting).toUpperCase(Locale.ROOT).replace('-', '_');
  }

  /** An external database server, when its URL is configured; {@code null} otherwise. */
  static @Nullable DatabaseServer database(DatabaseKind kind) {
    String url = setting(kind.key(), "url");
    if (url == null) {
      return null;
    }
    String username = setting(kind.key(), "username");
    String password = setting(kind.key(), "password");
    return new JdbcDatabaseServer(
        kind,
        "external " + kind.key() + " at " + url,
        url,
        username == null ? "" : username,
        password == null ? "" : password);
  }
}
