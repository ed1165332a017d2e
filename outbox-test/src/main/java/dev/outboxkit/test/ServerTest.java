package dev.outboxkit.test;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;

/**
 * Marks a test class whose tests need a real server: a database or Kafka broker of {@link
 * TestServers}, PgBouncer, a Prometheus server, a relay in a JVM of its own, a packaged jar, or a
 * Spring application wired to any of them. It carries the JUnit tag {@value #TAG}, so that {@code
 * ./mvnw -Pfast test} (surefire's {@code excludedGroups}) leaves such classes out.
 *
 * <p>Put it on an abstract contract class and every subclass inherits it. In this project, a class
 * carries the tag exactly when its name ends in {@code IntegrationTests} (or {@code IT} for
 * failsafe, {@code Benchmark} for benchmarks): {@link ServerTagGuard} fails a class that breaks
 * this, and {@link FastLane} fails a test of the fast lane that asks for a server.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@Tag(ServerTest.TAG)
public @interface ServerTest {

  /** The JUnit tag: {@code server}. */
  String TAG = "server";
}
