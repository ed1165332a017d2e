package dev.outboxkit.relay;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Which parked events a bulk operation concerns: every condition that is set must hold, an unset
 * one ({@code null}, or no ids) matches every event. {@link #all()} matches every parked event.
 *
 * @param group a {@link FailureFingerprint#id()}: only events whose last error has this fingerprint
 * @param errorLike only events whose last error contains this text, ignoring case; {@code %} or
 *     {@code *} stand for any text, and a pattern with one must match the whole error
 * @param eventType only events of this type (exact)
 * @param aggregateType only events of this aggregate type (exact)
 * @param since only events appended (or last replayed, see {@link ParkedEvent#createdAt()}) at or
 *     after this instant
 * @param ids only these events (empty: no restriction by id)
 * @since 0.8
 */
public record ParkedFilter(
    @Nullable String group,
    @Nullable String errorLike,
    @Nullable String eventType,
    @Nullable String aggregateType,
    @Nullable Instant since,
    Set<UUID> ids) {

  private static final ParkedFilter ALL = new ParkedFilter(null, null, null, null, null, Set.of());

  /**
   * @throws IllegalArgumentException when a text condition is blank
   */
  public ParkedFilter {
    ids = Set.copyOf(Objects.requireNonNull(ids, "ids"));
    notBlank(group, "group");
    notBlank(errorLike, "errorLike");
    notBlank(eventType, "eventType");
    notBlank(aggregateType, "aggregateType");
  }

  /** Every parked event. */
  public static ParkedFilter all() {
    return ALL;
  }

  /**
   * Only the given events.
   *
   * @param ids event ids, at least one
   * @throws IllegalArgumentException when {@code ids} is empty
   */
  public static ParkedFilter ids(Collection<UUID> ids) {
    if (ids.isEmpty()) {
      throw new IllegalArgumentException("ids must name at least one event");
    }
    return ALL.withIds(ids);
  }

  /**
   * The events of one failure group.
   *
   * @param fingerprintId a {@link FailureFingerprint#id()}
   */
  public static ParkedFilter group(String fingerprintId) {
    return ALL.withGroup(fingerprintId);
  }

  /** This filter restricted to a failure group. */
  public ParkedFilter withGroup(@Nullable String fingerprintId) {
    return new ParkedFilter(fingerprintId, errorLike, eventType, aggregateType, since, ids);
  }

  /** This filter restricted to errors like {@code pattern} (see {@link #errorLike()}). */
  public ParkedFilter withErrorLike(@Nullable String pattern) {
    return new ParkedFilter(group, pattern, eventType, aggregateType, since, ids);
  }

  /** This filter restricted to an event type. */
  public ParkedFilter withEventType(@Nullable String type) {
    return new ParkedFilter(group, errorLike, type, aggregateType, since, ids);
  }

  /** This filter restricted to an aggregate type. */
  public ParkedFilter withAggregateType(@Nullable String type) {
    return new ParkedFilter(group, errorLike, eventType, type, since, ids);
  }

  /** This filter restricted to events appended at or after {@code instant}. */
  public ParkedFilter withSince(@Nullable Instant instant) {
    return new ParkedFilter(group, errorLike, eventType, aggregateType, instant, ids);
  }

  /** This filter restricted to the given events (empty: no restriction by id). */
  public ParkedFilter withIds(Collection<UUID> eventIds) {
    return new ParkedFilter(
        group, errorLike, eventType, aggregateType, since, Set.copyOf(eventIds));
  }

  /** Whether this filter matches every parked event. */
  public boolean isAll() {
    return equals(ALL);
  }

  /**
   * Whether a parked event matches.
   *
   * @param event a parked event
   */
  public boolean matches(ParkedEvent event) {
    if (!ids.isEmpty() && !ids.contains(event.id())) {
      return false;
    }
    if (eventType != null && !eventType.equals(event.eventType())) {
      return false;
    }
    if (aggregateType != null && !aggregateType.equals(event.aggregateType())) {
      return false;
    }
    if (since != null && event.createdAt().isBefore(since)) {
      return false;
    }
    if (errorLike != null && !like(event.lastError(), errorLike)) {
      return false;
    }
    return group == null || group.equals(FailureFingerprint.of(event.lastError()).id());
  }

  /** The conditions as text, for the audit trail and progress lines: {@code all} when none. */
  public String describe() {
    if (isAll()) {
      return "all";
    }
    List<String> parts = new ArrayList<>();
    if (group != null) {
      parts.add("group=" + group);
    }
    if (errorLike != null) {
      parts.add("error-like=" + errorLike);
    }
    if (eventType != null) {
      parts.add("type=" + eventType);
    }
    if (aggregateType != null) {
      parts.add("aggregate-type=" + aggregateType);
    }
    if (since != null) {
      parts.add("since=" + since);
    }
    if (!ids.isEmpty()) {
      parts.add("ids=" + ids.size());
    }
    return String.join(" ", parts);
  }

  /**
   * Reads a {@code since} condition as operators type it: an instant ({@code 2026-12-06T03:00:00Z})
   * or an age ({@code 30s}, {@code 30m}, {@code 2h}, {@code 7d}) counted back from {@code now}.
   *
   * @throws IllegalArgumentException naming both forms when {@code text} is neither
   */
  public static Instant since(String text, Instant now) {
    java.util.regex.Matcher ago = AGO.matcher(text.strip());
    if (ago.matches()) {
      long n = Long.parseLong(ago.group(1));
      java.time.Duration d =
          switch (ago.group(2)) {
            case "s" -> java.time.Duration.ofSeconds(n);
            case "m" -> java.time.Duration.ofMinutes(n);
            case "h" -> java.time.Duration.ofHours(n);
            default -> java.time.Duration.ofDays(n);
          };
      return now.minus(d);
    }
    try {
      return Instant.parse(text.strip());
    } catch (java.time.format.DateTimeParseException e) {
      throw new IllegalArgumentException(
          "since must be an instant like 2026-12-06T03:00:00Z or an age like 30m, 2h, 7d but was '"
              + text
              + "'");
    }
  }

  private static final Pattern AGO = Pattern.compile("(\\d{1,9})([smhd])");

  private static boolean like(@Nullable String error, String pattern) {
    if (error == null) {
      return false;
    }
    String text = error.toLowerCase(Locale.ROOT);
    String p = pattern.toLowerCase(Locale.ROOT);
    if (p.indexOf('%') < 0 && p.indexOf('*') < 0) {
      return text.contains(p);
    }
    StringBuilder regex = new StringBuilder();
    StringBuilder literal = new StringBuilder();
    for (char c : p.toCharArray()) {
      if (c == '%' || c == '*') {
        regex.append(Pattern.quote(literal.toString())).append(".*");
        literal.setLength(0);
      } else {
        literal.append(c);
      }
    }
    regex.append(Pattern.quote(literal.toString()));
    return Pattern.compile(regex.toString(), Pattern.DOTALL).matcher(text).matches();
  }

  private static void notBlank(@Nullable String value, String name) {
    if (value != null && value.isBlank()) {
      throw new IllegalArgumentException(name + " must not be blank (leave it unset instead)");
    }
  }
}
