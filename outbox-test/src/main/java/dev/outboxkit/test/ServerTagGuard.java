package dev.outboxkit.test;

import java.lang.reflect.Modifier;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Keeps the {@link ServerTest} tag and the test class names in step: a class carries the tag
 * exactly when its name ends in {@code IntegrationTests}, {@code IT} or {@code Benchmark}. Without
 * it, an untagged {@code FooIntegrationTests} would run in the fast lane (and fail there through
 * {@link FastLane}) and a tagged {@code FooTests} would silently drop out of it.
 *
 * <p>Registered through {@code META-INF/services} for JUnit's extension auto-detection, and active
 * only where the configuration parameter {@value #ENABLED} is {@code true}: this project's build
 * sets it (with {@code junit.jupiter.extensions.autodetection.enabled=true} and {@code
 * ...autodetection.include=dev.outboxkit.test.*}), so users of this module who turn auto-detection
 * on keep their own naming rules. A class that breaks the rule fails before its first test, with
 * the fix in the message.
 */
public final class ServerTagGuard implements ExecutionCondition {

  /** The JUnit configuration parameter that turns the guard on. */
  public static final String ENABLED = "outboxkit.test.server-tag-guard";

  /** Creates the guard; JUnit's auto-detection calls this. */
  public ServerTagGuard() {}

  @Override
  public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
    if (context.getTestMethod().isPresent()
        || context.getTestClass().isEmpty()
        || !context.getConfigurationParameter(ENABLED).map(Boolean::parseBoolean).orElse(false)) {
      return ConditionEvaluationResult.enabled("not a test class, or the guard is off");
    }
    Class<?> testClass = context.getRequiredTestClass();
    if (testClass.getEnclosingClass() != null && !Modifier.isStatic(testClass.getModifiers())) {
      return ConditionEvaluationResult.enabled("@Nested: its enclosing class was checked");
    }
    String violation = violation(testClass.getSimpleName(), context.getTags());
    if (violation != null) {
      throw new IllegalStateException(violation);
    }
    return ConditionEvaluationResult.enabled("tag and name agree");
  }

  /**
   * What is wrong with a test class of this name and these tags, or {@code null} when its name and
   * the {@value ServerTest#TAG} tag agree.
   */
  static @Nullable String violation(String simpleName, Set<String> tags) {
    boolean serverName =
        simpleName.endsWith("IntegrationTests")
            || simpleName.endsWith("IT")
            || simpleName.endsWith("Benchmark");
    boolean tagged = tags.contains(ServerTest.TAG);
    if (serverName && !tagged) {
      return simpleName
          + " is named as a test with real servers but has no @ServerTest (JUnit tag '"
          + ServerTest.TAG
          + "'), so the fast lane (./mvnw -Pfast test) would run it: annotate it or its abstract"
          + " base with @dev.outboxkit.test.ServerTest, or, when it needs no server, rename it to"
          + " *Tests.";
    }
    if (tagged && !serverName) {
      return simpleName
          + " carries @ServerTest (JUnit tag '"
          + ServerTest.TAG
          + "') but its name does not end in IntegrationTests: rename it to *IntegrationTests"
          + " (tests with real servers), or remove the tag when it needs no server.";
    }
    return null;
  }
}
