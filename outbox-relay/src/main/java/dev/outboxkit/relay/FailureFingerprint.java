package dev.outboxkit.relay;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The failure of a parked event with what varies from one event to the next taken out: the
 * exception class and its message with UUIDs, host:port pairs, IP addresses, long hexadecimal
 * strings and numbers (sizes, offsets, timeouts, ids) replaced by placeholders. Forty thousand
 * events parked by one ACL mistake or one missing topic have one fingerprint, so an operator sees
 * one group instead of forty thousand lines.
 *
 * <p>Computed from the stored {@code last_error} text on every read: nothing is stored, so events
 * parked by older relays are grouped too, and a better normalisation applies to them at once.
 *
 * @param id a short, stable identifier of the fingerprint (12 hexadecimal digits of the SHA-256 of
 *     class and message), what the CLI and the endpoint take as a group
 * @param exceptionClass the simple name of the exception that parked the events, or {@code unknown}
 *     when the error text does not start with one
 * @param message the normalised message
 * @since 0.8
 */
public record FailureFingerprint(String id, String exceptionClass, String message) {

  /** Longest normalised message kept. */
  public static final int MAX_MESSAGE = 300;

  private static final Pattern CLASS_PREFIX =
      Pattern.compile("^\\s*([A-Za-z_$][\\w$]*(?:\\.[A-Za-z_$][\\w$]*)*)\\s*:\\s*");
  private static final Pattern UUID =
      Pattern.compile(
          "\\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\\b");
  private static final Pattern HOST_PORT =
      Pattern.compile(
          "(?<![\\w.-])(?:\\[[0-9a-fA-F:]+\\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):\\d{1,5}\\b");
  private static final Pattern IP = Pattern.compile("\\b\\d{1,3}(?:\\.\\d{1,3}){3}\\b");
  private static final Pattern HEX = Pattern.compile("\\b(?=[0-9a-fA-F]*\\d)[0-9a-fA-F]{12,}\\b");
  private static final Pattern NUMBER = Pattern.compile("(?<![\\w])-?\\d+(?:[.,]\\d+)*(?![\\w])");
  private static final Pattern SPACES = Pattern.compile("\\s+");

  /**
   * The fingerprint of a parked event's last error.
   *
   * @param lastError the stored error text, or {@code null} (an event parked without one)
   */
  public static FailureFingerprint of(@Nullable String lastError) {
    String text = lastError == null ? "" : lastError.strip();
    String exceptionClass = "unknown";
    Matcher prefix = CLASS_PREFIX.matcher(text);
    if (prefix.find() && looksLikeAClass(prefix.group(1))) {
      String name = prefix.group(1);
      exceptionClass = name.substring(name.lastIndexOf('.') + 1);
      text = text.substring(prefix.end());
    }
    String message = normalise(text);
    return new FailureFingerprint(hash(exceptionClass + "\n" + message), exceptionClass, message);
  }

  /** The message with the varying parts replaced, whitespace collapsed, capped. */
  static String normalise(String text) {
    String s = UUID.matcher(text).replaceAll("<uuid>");
    s = HOST_PORT.matcher(s).replaceAll("<host:port>");
    s = IP.matcher(s).replaceAll("<ip>");
    s = HEX.matcher(s).replaceAll("<hex>");
    s = NUMBER.matcher(s).replaceAll("<n>");
    s = SPACES.matcher(s).replaceAll(" ").strip();
    return s.length() <= MAX_MESSAGE ? s : s.substring(0, MAX_MESSAGE) + "...";
  }

  /** Class names start with a capital (after the package) and are not ordinary words. */
  private static boolean looksLikeAClass(String name) {
    String simple = name.substring(name.lastIndexOf('.') + 1);
    return !simple.isEmpty()
        && Character.isUpperCase(simple.charAt(0))
        && (simple.endsWith("Exception") || simple.endsWith("Error") || name.contains("."));
  }

  private static String hash(String text) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 6);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every Java platform", e);
    }
  }

  /** {@code Class: message}, as a person reads it. */
  @Override
  public String toString() {
    return exceptionClass + ": " + message;
  }
}
