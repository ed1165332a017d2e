package dev.outboxkit.test;

/**
 * The fast lane: a run of only the tests that need no server ({@code ./mvnw -Pfast test}, which
 * sets the system property {@value #PROPERTY} to {@code true} and excludes the tag {@value
 * ServerTest#TAG}).
 *
 * <p>Every way of getting a server in this module ({@link TestServers}, {@link
 * TestDatabaseExtension}, {@link PgBouncerServer}, {@link MySqlServer}, {@link
 * RestartableDatabaseServer}) asks {@link #refuseServer(String)} first, so a test that starts a
 * server but was left untagged fails in the fast lane with a message naming the fix, instead of
 * slowing the lane down unnoticed. Servers built on this module elsewhere (this project's proxied
 * Kafka broker, say) call it too.
 */
public final class FastLane {

  /** The system property that turns the fast lane on: {@code outboxkit.test.fast}. */
  public static final String PROPERTY = "outboxkit.test.fast";

  private FastLane() {}

  /** Whether this JVM runs the fast lane. */
  public static boolean isOn() {
    return Boolean.parseBoolean(System.getProperty(PROPERTY));
  }

  /**
   * Throws when this JVM runs the fast lane; does nothing otherwise.
   *
   * @param server what the test asked for, for the message, e.g. {@code "PostgreSQL"}
   * @throws IllegalStateException in the fast lane
   */
  public static void refuseServer(String server) {
    if (isOn()) {
      throw new IllegalStateException(
          "A test in the fast lane ("
              + PROPERTY
              + "=true, ./mvnw -Pfast test) asked for "
              + server
              + ", but the fast lane runs only tests that need no server. Annotate the test class"
              + " (or its abstract base) with @"
              + ServerTest.class.getName()
              + " and name it *IntegrationTests.");
    }
  }
}
