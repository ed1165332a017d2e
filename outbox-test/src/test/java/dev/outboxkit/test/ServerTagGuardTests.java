package dev.outboxkit.test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * The guard that keeps {@link ServerTest} and class names in step, run on example classes through
 * the JUnit launcher with the configuration this project's build uses. The example classes are
 * static members: surefire never runs them by itself (it excludes {@code Outer$Inner} classes).
 */
class ServerTagGuardTests {

  @Test
  void passesClassesWhoseNameAndTagAgree() {
    TestExecutionSummary summary =
        run(true, TaggedIntegrationTests.class, UntaggedTests.class, TaggedBenchmark.class);

    assertThat(summary.getFailures()).isEmpty();
    assertThat(summary.getTestsSucceededCount()).isEqualTo(3);
  }

  @Test
  void failsAnIntegrationTestClassWithoutTheTag() {
    TestExecutionSummary summary = run(true, UntaggedIntegrationTests.class);

    assertThat(failureMessages(summary))
        .singleElement()
        .asString()
        .contains("UntaggedIntegrationTests", "has no @ServerTest", "rename it to *Tests");
    assertThat(summary.getTestsStartedCount()).isZero();
  }

  @Test
  void failsATaggedClassNotNamedAsAnIntegrationTest() {
    TestExecutionSummary summary = run(true, TaggedTests.class);

    assertThat(failureMessages(summary))
        .singleElement()
        .asString()
        .contains("TaggedTests carries @ServerTest", "rename it to *IntegrationTests");
  }

  @Test
  void inheritsTheTagFromAnAbstractBase() {
    TestExecutionSummary summary =
        run(true, InheritingIntegrationTests.class, InheritingTests.class);

    assertThat(failureMessages(summary))
        .singleElement()
        .asString()
        .contains("InheritingTests carries @ServerTest");
    assertThat(summary.getTestsSucceededCount()).isEqualTo(1);
  }

  @Test
  void leavesNestedClassesToTheirEnclosingClass() {
    TestExecutionSummary summary = run(true, NestingIntegrationTests.class);

    assertThat(summary.getFailures()).isEmpty();
    assertThat(summary.getTestsSucceededCount()).isEqualTo(2);
  }

  @Test
  void doesNothingUnlessTurnedOn() {
    TestExecutionSummary summary = run(false, UntaggedIntegrationTests.class, TaggedTests.class);

    assertThat(summary.getFailures()).isEmpty();
    assertThat(summary.getTestsSucceededCount()).isEqualTo(2);
  }

  @Test
  void namesBothWaysOfGettingItRight() {
    assertThat(ServerTagGuard.violation("FooIntegrationTests", Set.of(ServerTest.TAG))).isNull();
    assertThat(ServerTagGuard.violation("RelayJarCdcIT", Set.of(ServerTest.TAG))).isNull();
    assertThat(ServerTagGuard.violation("FooTests", Set.of("other"))).isNull();
    assertThat(ServerTagGuard.violation("FooIT", Set.of())).contains("has no @ServerTest");
    assertThat(ServerTagGuard.violation("FooTests", Set.of(ServerTest.TAG)))
        .contains("rename it to *IntegrationTests");
  }

  private static TestExecutionSummary run(boolean guardOn, Class<?>... classes) {
    LauncherDiscoveryRequestBuilder request =
        LauncherDiscoveryRequestBuilder.request()
            .configurationParameter("junit.jupiter.extensions.autodetection.enabled", "true")
            .configurationParameter(
                "junit.jupiter.extensions.autodetection.include", ServerTagGuard.class.getName())
            .configurationParameter(ServerTagGuard.ENABLED, Boolean.toString(guardOn));
    for (Class<?> type : classes) {
      request.selectors(selectClass(type));
    }
    SummaryGeneratingListener listener = new SummaryGeneratingListener();
    LauncherFactory.create().execute(request.build(), listener);
    return listener.getSummary();
  }

  private static List<String> failureMessages(TestExecutionSummary summary) {
    return summary.getFailures().stream()
        .map(failure -> String.valueOf(failure.getException().getMessage()))
        .toList();
  }

  @ServerTest
  static class TaggedIntegrationTests {
    @Test
    void runs() {}
  }

  static class UntaggedTests {
    @Test
    void runs() {}
  }

  @ServerTest
  static class TaggedBenchmark {
    @Test
    void runs() {}
  }

  static class UntaggedIntegrationTests {
    @Test
    void runs() {}
  }

  @ServerTest
  static class TaggedTests {
    @Test
    void runs() {}
  }

  @ServerTest
  abstract static class TaggedContract {
    @Test
    void runs() {}
  }

  static class InheritingIntegrationTests extends TaggedContract {}

  static class InheritingTests extends TaggedContract {}

  @ServerTest
  static class NestingIntegrationTests {
    @Test
    void runs() {}

    @Nested
    class WhenNested {
      @Test
      void runs() {}
    }
  }
}
