package dev.outboxkit.relay;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * How OutboxKit keeps secrets out of {@code toString}, logs, health details and exception messages:
 * values of properties whose name says they hold one (password, secret, JAAS configuration, token,
 * credentials, private key material such as {@code ssl.keystore.key}, registry credentials such as
 * {@code basic.auth.user.info}) are shown as {@value #MASK}; in any other value, passwords in JDBC
 * URL parameters and the password of {@code user:password@} in URLs are masked.
 *
 * <p>Public so that integrations (the Spring Boot starter, an application's own diagnostics) show
 * relay and Debezium settings exactly as the relay does. Stateless and thread-safe.
 *
 * @since 0.1
 */
public final class SecretMasking {

  /** What a secret value is shown as. */
  public static final String MASK = "****";

  private static final Pattern SECRET_NAME =
      Pattern.compile(
          ".*(password|secret|jaas|token|credential|passphrase|user\\.info|userinfo"
              + "|keystore\\.key|private\\.key|api\\.key|apikey).*");

  // password=, sslpassword=, ssl.key.password= … up to the next & or ;
  private static final Pattern URL_PASSWORD = Pattern.compile("(?i)(password=)[^&;]*");

  // user:password@host, after '//' or quoted bare by a driver (MySQL: "authority segment
  // 'app:pw@db:3306'"). The password runs to the LAST '@' of the segment: a password may hold '@'.
  private static final Pattern URL_USER_INFO =
      Pattern.compile("((?:^|[\\s'\"/(=,;])[^\\s'\"/:@]*:)[^\\s'\"/]*(@)");

  private SecretMasking() {}

  /**
   * Whether a property of this name holds a secret.
   *
   * @param name a property name, in any case
   */
  public static boolean isSecret(String name) {
    return SECRET_NAME.matcher(name.toLowerCase(Locale.ROOT)).matches();
  }

  /**
   * The map with the values of secret properties masked, and credentials in the URLs of other
   * values masked, sorted by name.
   *
   * @param properties the properties, or {@code null} for none
   * @return a new map, empty when {@code properties} is {@code null}
   */
  public static Map<String, Object> masked(@Nullable Map<String, ?> properties) {
    Map<String, Object> shown = new TreeMap<>();
    if (properties != null) {
      properties.forEach(
          (name, value) ->
              shown.put(
                  name,
                  isSecret(name) ? MASK : value instanceof String text ? maskedUrl(text) : value));
    }
    return new LinkedHashMap<>(shown);
  }

  /**
   * A URL with any {@code password=} parameter and the password of {@code user:password@} masked.
   *
   * @param url a URL or any text that may contain one (an exception message), or {@code null}
   * @return the text with the passwords masked, or {@code null} when {@code url} is
   */
  public static @Nullable String maskedUrl(@Nullable String url) {
    if (url == null) {
      return null;
    }
    String shown = URL_PASSWORD.matcher(url).replaceAll("$1" + MASK);
    return URL_USER_INFO.matcher(shown).replaceAll("$1" + MASK + "$2");
  }
}
