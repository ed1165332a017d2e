package dev.outboxkit.test;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TestShutdownTests {

  @TempDir Path work;

  @Test
  void stopsTheLastRegisteredFirstAndGoesOnAfterAFailure() throws Exception {
    TestShutdown shutdown = new TestShutdown(work.resolve("logs/shutdown.log"), false);
    List<String> stopped = new ArrayList<>();
    shutdown.add("database", () -> stopped.add("database"));
    shutdown.add(
        "broker",
        () -> {
          throw new IllegalStateException("broker would not stop");
        });
    shutdown.add("pooler", () -> stopped.add("pooler"));

    shutdown.stopAll();

    assertThat(stopped).containsExactly("pooler", "database");
    String log = Files.readString(shutdown.log());
    assertThat(log)
        .contains("started database", "stopping 3 test server(s)")
        .containsPattern("stopped pooler in \\d+ ms")
        .containsPattern("FAILED to stop broker after \\d+ ms: java.lang.IllegalStateException")
        .contains("broker would not stop")
        .containsPattern("all test servers stopped in \\d+ ms");
    assertThat(log.indexOf("stopping pooler"))
        .isLessThan(log.indexOf("stopping broker"))
        .isLessThan(log.indexOf("stopping database"));
  }

  @Test
  void aCancelledServerIsNotStoppedAgain() {
    TestShutdown shutdown = new TestShutdown(work.resolve("shutdown.log"), false);
    List<String> stopped = new ArrayList<>();
    TestShutdown.Registration closedByItsTest =
        shutdown.add("closed by its test", () -> stopped.add("closed by its test"));
    shutdown.add("shared", () -> stopped.add("shared"));

    closedByItsTest.cancel();
    shutdown.stopAll();

    assertThat(stopped).containsExactly("shared");
  }

  @Test
  void noServerCanBeRegisteredOnceStopping() {
    TestShutdown shutdown = new TestShutdown(work.resolve("shutdown.log"), false);
    shutdown.stopAll();

    org.assertj.core.api.Assertions.assertThatIllegalStateException()
        .isThrownBy(() -> shutdown.add("late", () -> {}))
        .withMessageContaining("late");
  }
}
