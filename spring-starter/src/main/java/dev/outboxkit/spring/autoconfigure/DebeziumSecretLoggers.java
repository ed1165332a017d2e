package dev.outboxkit.spring.autoconfigure;

import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.logging.LogLevel;
import org.springframework.boot.logging.LoggerConfiguration;
import org.springframework.boot.logging.LoggingSystem;

/**
 * Keeps the two Debezium loggers that print the database password at DEBUG at INFO while the CDC
 * relay runs: {@code AsyncEmbeddedEngine} logs the whole connector configuration ({@code Config #0:
 * {…}}) and {@code JdbcConnection} its connection properties, {@code database.password} and {@code
 * sslpassword} in clear (found by {@code SecretsNeverShownIntegrationTests}). The standalone relay
 * pins them in its {@code application.properties}; an application that runs the CDC relay through
 * the starter gets the same here, so that {@code logging.level.io.debezium=DEBUG} while
 * investigating stays safe. Levels changed later at run time (the {@code loggers} actuator
 * endpoint) are not watched.
 */
final class DebeziumSecretLoggers {

  private static final Logger log = LoggerFactory.getLogger(DebeziumSecretLoggers.class);

  /** The loggers that print Debezium's configuration with its secrets at DEBUG (Debezium 3.5). */
  static final List<String> NAMES =
      List.of("io.debezium.embedded.async.AsyncEmbeddedEngine", "io.debezium.jdbc.JdbcConnection");

  private DebeziumSecretLoggers() {}

  /**
   * Sets each of {@link #NAMES} that would log at DEBUG or TRACE to INFO, with a WARN saying why.
   *
   * @return the loggers whose level was changed
   */
  static List<String> pin(LoggingSystem logging) {
    List<String> pinned = new ArrayList<>();
    for (String name : NAMES) {
      LogLevel level = effectiveLevel(logging, name);
      if (level != null && level.ordinal() < LogLevel.INFO.ordinal()) {
        logging.setLogLevel(name, LogLevel.INFO);
        pinned.add(name);
        log.warn(
            "Logger {} was at {}; set to INFO because at DEBUG Debezium writes the database"
                + " password to it (the rest of io.debezium keeps its level)",
            name,
            level);
      }
    }
    return pinned;
  }

  /**
   * The level a logger logs at, also before it exists: Debezium's classes are loaded only when the
   * engine starts, and Logback reports no configuration for a logger not yet created, which would
   * then inherit {@code io.debezium}'s DEBUG. The nearest configured ancestor decides.
   */
  private static @Nullable LogLevel effectiveLevel(LoggingSystem logging, String name) {
    for (String n = name; ; n = n.substring(0, n.lastIndexOf('.'))) {
      LoggerConfiguration config = logging.getLoggerConfiguration(n);
      if (config != null && config.getEffectiveLevel() != null) {
        return config.getEffectiveLevel();
      }
      if (n.indexOf('.') < 0) {
        LoggerConfiguration root = logging.getLoggerConfiguration(LoggingSystem.ROOT_LOGGER_NAME);
        return root == null ? null : root.getEffectiveLevel();
      }
    }
  }
}
