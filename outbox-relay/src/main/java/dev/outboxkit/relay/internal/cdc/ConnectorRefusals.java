package dev.outboxkit.relay.internal.cdc;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
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

  private ConnectorRefusals() {}

  /**
   * The failure to report for an engine that ended with {@code message} and {@code error}: what
   * Debezium said, or, when that is the version mismatch above, what the connector refused.
   */
  static String explain(Properties config, String message, @Nullable Throwable error) {
    String reported = message + (error == null ? "" : ": " + error + rootCause(error));
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
        + error
        + ")";
  }

  /**
   * The innermost cause, when there is one: the engine reports "An exception occurred in the change
   * event producer" twice over and the reason (a {@code ParsingException} on a DDL statement, a
   * refused login) only at the bottom. Cut where quoted text begins: a statement's text may carry a
   * password ({@code IDENTIFIED BY '...'}), and this text reaches logs and health details. Capped
   * in length.
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
    String text = String.valueOf(root);
    int quoted = text.indexOf(" '");
    if (quoted >= 0) {
      text = text.substring(0, quoted) + " '...' (quoted text left out; Debezium logs it)";
    }
    return " (cause: " + (text.length() > 400 ? text.substring(0, 400) + "..." : text) + ")";
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
