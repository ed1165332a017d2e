package dev.outboxkit.test;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Reads OutboxKit's shipped SQL scripts the way a test compares them with the code that creates the
 * same schema: statements are separated by {@code ;} on a line of its own, and comment lines
 * ({@code --}, Liquibase's changeset markers included) are dropped.
 */
public final class ShippedScripts {

  private ShippedScripts() {}

  /**
   * The statements of a script on the classpath.
   *
   * @param location e.g. {@code dev/outboxkit/schema/postgresql/V0_1__outboxkit_outbox_event.sql}
   * @throws IllegalStateException when there is no such resource
   */
  public static List<String> statements(String location) {
    return Arrays.stream(text(location).split("\n;\n"))
        .map(
            statement ->
                statement
                    .lines()
                    .filter(line -> !line.startsWith("--"))
                    .reduce((a, b) -> a + "\n" + b)
                    .orElse("")
                    .strip())
        .filter(statement -> !statement.isBlank())
        .toList();
  }

  /**
   * The whole text of a script on the classpath.
   *
   * @param location the resource path
   * @throws IllegalStateException when there is no such resource
   */
  public static String text(String location) {
    try (InputStream in = ShippedScripts.class.getClassLoader().getResourceAsStream(location)) {
      if (in == null) {
        throw new IllegalStateException("No script at classpath:" + location);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
