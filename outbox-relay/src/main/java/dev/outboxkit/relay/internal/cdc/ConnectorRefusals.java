package dev.outboxkit.relay.internal.cdc;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigValue;
import org.apache.kafka.connect.source.SourceConnector;
import org.jspecify.annotations.Nullable;

/**
 * Says why Debezium's connector refused its configuration when Debezium itself cannot. Debezium
 * 3.5's embedded engine reports a refused configuration (the database is gone, the server cannot be
 * reached, a login fails) through Kafka Connect's {@code ConfigInfos.values()}; Kafka 4.2 turned
 * {@code ConfigInfos} into a record whose accessor is {@code configs()}, so the engine dies of
 * {@code NoSuchMethodError} instead and the real cause is lost (Debezium 3.5 is built against Kafka
 * 4.1; no Debezium release that is built against 4.2 also has the MariaDB connector we ship, see
 * docs/cdc.md). Here the connector's own {@link SourceConnector#validate} runs again, without the
 * REST entity classes, and its error messages (never the configuration's values) become the
 * failure.
 */
final class ConnectorRefusals {

  /** The most characters of one part of a failure (a message, an exception) that are reported. */
  static final int MAX_TEXT = 400;

  /**
   * Where MySQL's and MariaDB's statements put a password (or its hash): {@code IDENTIFIED ...},
   * {@code SET PASSWORD [FOR u] = ...}, {@code PASSWORD('...')}, {@code OPTIONS (PASSWORD '...')},
   * {@code MASTER_PASSWORD = ...}; not the word in "password authentication failed".
   */
  private static final Pattern SECRET_CLAUSE =
      Pattern.compile("IDENTIFIED|PASSWORD(?=\\s*+(?:[=('\"]|FOR\\b))", Pattern.CASE_INSENSITIVE);

  private ConnectorRefusals() {}

  /**
   * The failure to report for an engine that ended with {@code message} and {@code error}: what
   * Debezium said, or, when that is the version mismatch above, what the connector refused.
   */
  static String explain(Properties config, @Nullable String message, @Nullable Throwable error) {
    String reported =
        readable(message)
            + (error == null ? "" : ": " + readable(String.valueOf(error)) + rootCause(error));
    if (!isConfigReportMismatch(error)) {
      return reported;
    }
    List<String> refusals;
    try {
      refusals = refusals(config);
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      return reported + " (the connector's configuration could not be checked again: " + e + ")";
    }
    if (refusals.isEmpty()) {
      return reported;
    }
    return "The CDC connector refused its configuration: "
        + String.join("; ", refusals)
        + " (Debezium could not report this itself: "
        + readable(String.valueOf(error))
        + ")";
  }

  /**
   * The innermost cause, when there is one: the engine reports "An exception occurred in the change
   * event producer" twice over and the reason (a {@code ParsingException} on a DDL statement, a
   * refused login) only at the bottom. Cut and capped by {@link #readable}: a statement's text may
   * carry a password ({@code IDENTIFIED BY '...'}), and this text reaches logs and health details.
   */
  static String rootCause(Throwable error) {
    // The innermost cause with a message: Debezium's ParsingException (naming the statement) wraps
    // the parser's NoViableAltException, which has none.
    Throwable root = error;
    int depth = 0;
    for (Throwable t = error.getCause(); t != null && depth++ < 20; t = t.getCause()) {
      if (t.getMessage() != null || root == error) {
        root = t;
      }
    }
    if (root == error) {
      return "";
    }
    return " (cause: " + readable(String.valueOf(root)) + ")";
  }

  /**
   * {@code text} (an engine's message, an exception's) cut before anything that may carry a
   * password, and capped at {@link #MAX_TEXT} characters: cut where quoted text begins (a single
   * quote that no letter or digit precedes: the apostrophe of "couldn't" stays) or where a clause
   * that sets a password begins, whichever comes first. The clauses because a password's literal
   * need not follow a space ({@code IDENTIFIED BY'pw'}, {@code _utf8mb4'pw'}) and may be in double
   * quotes, which stay elsewhere: PostgreSQL quotes the names in its messages so. The engine's
   * message and outermost exception are cut too: Debezium's engine passes a failed task's exception
   * as both, so a statement in an exception that no wrapper hides would show there whole.
   */
  static String readable(@Nullable String text) {
    String s = String.valueOf(text);
    int quote = openingQuote(s);
    Matcher keyword = SECRET_CLAUSE.matcher(s);
    int clause = keyword.find() ? keyword.start() : -1;
    if (clause >= 0 && (quote < 0 || clause < quote)) {
      s =
          s.substring(0, clause)
              + "... (left out from here: it may hold a password; Debezium logs it)";
    } else if (quote >= 0) {
      s = s.substring(0, quote) + "'...' (quoted text left out; Debezium logs it)";
    }
    return s.length() > MAX_TEXT ? s.substring(0, MAX_TEXT) + "..." : s;
  }

  /** The first single quote that opens quoted text: no letter or digit just before it. */
  private static int openingQuote(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) == '\'' && (i == 0 || !Character.isLetterOrDigit(s.charAt(i - 1)))) {
        return i;
      }
    }
    return -1;
  }

  /** Whether {@code error} is the engine failing to read the connector's validation result. */
  static boolean isConfigReportMismatch(@Nullable Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof LinkageError && String.valueOf(t.getMessage()).contains("ConfigInfos")) {
        return true;
      }
    }
    return false;
  }

  /** The connector's error messages for {@code config}, one per refused setting. */
  static List<String> refusals(Properties config) throws ReflectiveOperationException {
    Map<String, String> props = new HashMap<>();
    config.stringPropertyNames().forEach(name -> props.put(name, config.getProperty(name)));
    SourceConnector connector =
        Class.forName(config.getProperty("connector.class"))
            .asSubclass(SourceConnector.class)
            .getDeclaredConstructor()
            .newInstance();
    Config validated = connector.validate(props);
    List<String> refusals = new ArrayList<>();
    for (ConfigValue value : validated.configValues()) {
      for (String error : value.errorMessages()) {
        refusals.add(value.name() + ": " + error);
      }
    }
    return refusals;
  }
}
