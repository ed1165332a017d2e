package dev.outboxkit.relay.internal;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Keeps secrets out of {@code toString}, logs and health details: values of properties whose name
 * says they hold one (password, secret, JAAS configuration, token, credentials) and passwords in
 * JDBC URLs are shown as {@value #MASK}.
 */
public final class Secrets {

  public static final String MASK = "****";

  private static final Pattern SECRET_NAME =
      Pattern.compile(".*(password|secret|jaas|token|credential|passphrase).*");

  private static final Pattern URL_PASSWORD = Pattern.compile("(?i)(password=)[^&;]*");

  private Secrets() {}

  /** Whether a property of this name holds a secret. */
  public static boolean isSecret(String name) {
    return SECRET_NAME.matcher(name.toLowerCase(Locale.ROOT)).matches();
  }

  /** The map with the values of secret properties masked, sorted by name. */
  public static Map<String, Object> masked(@Nullable Map<String, ?> properties) {
    Map<String, Object> shown = new TreeMap<>();
    if (properties != null) {
      properties.forEach((name, value) -> shown.put(name, isSecret(name) ? MASK : value));
    }
    return new LinkedHashMap<>(shown);
  }

  /** A JDBC URL with any {@code password=} parameter masked. */
  public static @Nullable String maskedUrl(@Nullable String url) {
    return url == null ? null : URL_PASSWORD.matcher(url).replaceAll("$1" + MASK);
  }
}
