package dev.outboxkit.test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.function.Executable;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

/**
 * In the fast lane every way of getting a server refuses before it starts anything, naming the fix.
 * Runs in both lanes: it turns the lane on for itself and restores the property afterwards.
 */
class FastLaneTests {

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
  void refusesEveryDatabaseAndTheBroker() {
    assertRefused(TestServers::postgres, "postgresql");
    assertRefused(TestServers::mariadb, "mariadb");
    assertRefused(TestServers::mysql, "mysql");
    assertRefused(TestServers::h2, "h2");
    assertRefused(TestServers::kafka, "Kafka");
  }

  @Test
  void refusesTheServersATestStartsForItself() {
    assertRefused(PgBouncerServer::get, "PgBouncer");
    assertRefused(MySqlServer::start, "a MySQL server of its own");
    assertRefused(
        () -> RestartableDatabaseServer.start(DatabaseKind.MARIADB),
        "a restartable mariadb server");
  }

  @Test
  void failsAnUntaggedTestClassEvenWhereItsServerWouldBeSkipped() {
    SummaryGeneratingListener listener = new SummaryGeneratingListener();
    LauncherFactory.create()
        .execute(
            LauncherDiscoveryRequestBuilder.request()
                .selectors(selectClass(UntaggedDatabaseTests.class))
                .build(),
            listener);

    assertThat(listener.getSummary().getFailures())
        .singleElement()
        .extracting(failure -> failure.getException().getMessage())
        .asString()
        .contains("asked for mysql", "@dev.outboxkit.test.ServerTest");
    assertThat(listener.getSummary().getTestsStartedCount()).isZero();
  }

  @Test
  void isOffUnlessTheSystemPropertySaysTrue() {
    System.setProperty(FastLane.PROPERTY, "false");
    assertThat(FastLane.isOn()).isFalse();
    FastLane.refuseServer("nothing"); // no exception outside the fast lane
    System.clearProperty(FastLane.PROPERTY);
    assertThat(FastLane.isOn()).isFalse();
  }

  /** Run only through the launcher above (surefire leaves out {@code Outer$Inner} classes). */
  static class UntaggedDatabaseTests {
    @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mysql();

    @Test
    void wouldUseTheDatabase() {}
  }

  private static void assertRefused(Executable start, String server) {
    assertThatThrownBy(start::execute)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("asked for " + server)
        .hasMessageContaining("outboxkit.test.fast=true")
        .hasMessageContaining("@dev.outboxkit.test.ServerTest")
        .hasMessageContaining("*IntegrationTests");
  }
}
