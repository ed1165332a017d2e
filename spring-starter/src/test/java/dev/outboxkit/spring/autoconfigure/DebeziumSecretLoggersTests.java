package dev.outboxkit.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.logging.LogLevel;
import org.springframework.boot.logging.LoggingSystem;

/**
 * Issue 20, secrets: Debezium 3.5 prints its connector configuration, the database password
 * included, at DEBUG. The standalone relay pins its two loggers at INFO; an application that runs
 * the CDC relay through the starter and turns on {@code logging.level.io.debezium=DEBUG} must get
 * the same protection.
 */
class DebeziumSecretLoggersTests {

  private final LoggingSystem logging = LoggingSystem.get(getClass().getClassLoader());

  @AfterEach
  void resetLevels() {
    logging.setLogLevel("io.debezium", null);
    DebeziumSecretLoggers.NAMES.forEach(name -> logging.setLogLevel(name, null));
  }

  /**
   * The two loggers do not exist yet when the relay starts (Debezium's classes load with the
   * engine): their level is what {@code io.debezium} gives them. The first version of the guard
   * asked Logback for their configuration, got none, and pinned nothing (this test: "Expecting
   * actual: [] to contain exactly ...").
   */
  @Test
  void theLoggersThatPrintThePasswordAreKeptAtInfoWhenDebeziumIsAtDebug() {
    logging.setLogLevel("io.debezium", LogLevel.DEBUG);

    assertThat(DebeziumSecretLoggers.pin(logging))
        .containsExactlyElementsOf(DebeziumSecretLoggers.NAMES);

    for (String name : DebeziumSecretLoggers.NAMES) {
      assertThat(logging.getLoggerConfiguration(name).getEffectiveLevel())
          .as(name)
          .isEqualTo(LogLevel.INFO);
    }
    assertThat(logging.getLoggerConfiguration("io.debezium").getEffectiveLevel())
        .as("the rest of io.debezium keeps the level asked for")
        .isEqualTo(LogLevel.DEBUG);
  }

  @Test
  void levelsAtInfoOrAboveAreLeftAlone() {
    logging.setLogLevel("io.debezium", LogLevel.WARN);
    assertThat(DebeziumSecretLoggers.pin(logging)).isEmpty();
    assertThat(logging.getLoggerConfiguration("io.debezium").getEffectiveLevel())
        .isEqualTo(LogLevel.WARN);
  }
}
