package dev.outboxkit.relay.internal;

import dev.outboxkit.relay.AuditEntry;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * Makes caller-influenced text safe for the audit table and log: every control or line/paragraph
 * separator character becomes {@code \\uXXXX} (so a CR/LF in an id cannot forge a log line), and
 * the result is cut to a maximum length with a marker saying how much was dropped.
 */
public final class AuditText {

  /** Longest principal or source address kept. */
  public static final int MAX_NAME = 255;

  /** Longest target kept (fits the table's column). */
  public static final int MAX_TARGET = 4000;

  /** Longest reason kept. */
  public static final int MAX_REASON = 1000;

  /** Longest piece of a caller's raw input (e.g. invalid ids) kept in a refusal's target. */
  public static final int MAX_RAW_INPUT = 100;

  private AuditText() {}

  /**
   * @param text any text, or {@code null}
   * @param max the most characters to return, at least 20
   * @return the text with control characters escaped, at most {@code max} characters long
   */
  public static @Nullable String clean(@Nullable String text, int max) {
    if (text == null) {
      return null;
    }
    StringBuilder out = new StringBuilder(Math.min(text.length(), max) + 8);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isISOControl(c)
          || c == '\u2028'
          || c == '\u2029'
          || Character.getType(c) == Character.FORMAT) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    if (out.length() <= max) {
      return out.toString();
    }
    String marker = "...(" + (out.length() - max) + " more)";
    return out.substring(0, max - marker.length()) + marker;
  }

  /** Like {@link #clean(String, int)} for a value that is never null. */
  public static String cleanNonNull(String text, int max) {
    String cleaned = clean(text, max);
    return cleaned == null ? "" : cleaned;
  }

  /**
   * The target of an operation on ids: all of them when there are at most {@link
   * AuditEntry#MAX_LISTED_IDS}, otherwise their count and the first and last.
   */
  public static String ids(List<UUID> ids) {
    if (ids.size() <= AuditEntry.MAX_LISTED_IDS) {
      StringBuilder out = new StringBuilder("ids=");
      for (int i = 0; i < ids.size(); i++) {
        out.append(i == 0 ? "" : ",").append(ids.get(i));
      }
      return out.toString();
    }
    return "ids: "
        + ids.size()
        + " from "
        + ids.get(0)
        + " to "
        + ids.get(ids.size() - 1)
        + " (first and last in parking order)";
  }

  /**
   * The target of an operation on ids chosen by {@code what} (a filter's description): {@code
   * what}, cut if needed, then {@code ": "} and {@link #ids}, so that a long description never
   * pushes the listed ids out of the {@link #MAX_TARGET} characters kept ({@link #listedIds} reads
   * them from the end).
   */
  public static String withIds(String what, List<UUID> ids) {
    String listed = ids(ids);
    int room = Math.max(20, MAX_TARGET - listed.length() - 2);
    return cleanNonNull(what, room) + ": " + listed;
  }

  /**
   * The ids that a target written by {@link #ids} lists one by one (after the last {@code ids=}),
   * or an empty list when it lists none that way: more than {@link AuditEntry#MAX_LISTED_IDS} ids
   * (only the first and last are named), a target cut to {@link #MAX_TARGET}, or other text.
   */
  public static List<UUID> listedIds(@Nullable String target) {
    int at = target == null ? -1 : target.lastIndexOf("ids=");
    if (at < 0) {
      return List.of();
    }
    List<UUID> ids = new ArrayList<>();
    for (String id : target.substring(at + "ids=".length()).split(",", -1)) {
      // A UUID's text is exactly 36 characters; anything else (a cut target's marker) lists none.
      if (id.length() != 36) {
        return List.of();
      }
      try {
        ids.add(UUID.fromString(id));
      } catch (IllegalArgumentException notAnId) {
        return List.of();
      }
    }
    return ids;
  }
}
