package dev.outboxkit.test;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * In the fast lane the proxied broker refuses before it starts anything, naming the fix, as the
 * servers of outbox-test do ({@code FastLaneTests} there). Runs in both lanes: it turns the lane on
 * for itself and restores the property afterwards.
 */
class ProxiedKafkaBrokerFastLaneTests {

  private @Nullable String before;

  @BeforeEach
  void turnTheFastLaneOn() {
    before = System.getProperty(FastLane.PROPERTY);
    System.setProperty(FastLane.PROPERTY, "true");
  }

  @AfterEach
  void restore() {
    if (before == null) {
      System.clearProperty(FastLane.PROPERTY);
    } else {
      System.setProperty(FastLane.PROPERTY, before);
    }
  }

  @Test
  void refusesToStartInTheFastLane() {
    assertThatThrownBy(ProxiedKafkaBroker::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("asked for a Kafka broker behind a proxy")
        .hasMessageContaining("outboxkit.test.fast=true")
        .hasMessageContaining("@dev.outboxkit.test.ServerTest")
        .hasMessageContaining("*IntegrationTests");
  }
}
