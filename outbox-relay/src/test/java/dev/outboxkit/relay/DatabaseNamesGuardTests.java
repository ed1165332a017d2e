package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Per-database behaviour lives in one class per database and module, chosen once from the dialect
 * ({@code RelaySql}, {@code ChangeLogSource}, {@code IdempotencyDialect}, the core's dialects): a
 * database's name as a string literal ({@code "postgresql"}, {@code "jdbc:mariadb:"}, a Debezium
 * connector class) or a look at the product name may appear only in a {@code dialect} package
 * (where detection lives too) or in a file named after its database ({@code PostgresChangeLog},
 * {@code MySqlRelaySql}, ...). Anywhere else it is a switch on names that a custom dialect would
 * silently fall through.
 */
class DatabaseNamesGuardTests {

  /** The library's modules (not the test kit, samples or chaos harness, which start servers). */
  private static final List<Path> MAIN_SOURCES =
      Stream.of("outbox-core", "outbox-relay", "idempotency", "spring-starter", "relay-app")
          .map(module -> Path.of("..", module, "src", "main", "java"))
          .toList();

  private static final Pattern LITERAL = Pattern.compile("\"((?:[^\"\\\\\\n]|\\\\.)*)\"");

  private static final Pattern DATABASE_NAME =
      Pattern.compile(
          "(?i)(postgresql|postgres|mysql|mariadb|h2|jdbc:(postgresql|mysql|mariadb|h2):.*"
              + "|.*(Postgres|MySql|MariaDb)Connector)");

  private static final Pattern PER_DATABASE_FILE =
      Pattern.compile("(Postgres|MySql|MariaDb|H2)[A-Za-z0-9]*\\.java");

  @Test
  void noDatabaseNameOutsideTheDialectCode() throws IOException {
    List<String> found = new ArrayList<>();
    for (Path root : MAIN_SOURCES) {
      assertThat(root).as("module sources").isDirectory();
      try (Stream<Path> files = Files.walk(root)) {
        files
            .filter(f -> f.toString().endsWith(".java"))
            .filter(f -> !inDialectPackage(root.relativize(f)))
            .filter(f -> !PER_DATABASE_FILE.matcher(f.getFileName().toString()).matches())
            .forEach(f -> found.addAll(databaseNames(f)));
      }
    }
    assertThat(found)
        .as(
            "database names outside the dialect code: put the behaviour behind a capability of the"
                + " module's per-database class (RelaySql, ChangeLogSource, IdempotencyDialect,"
                + " OutboxDialect)")
        .isEmpty();
  }

  @Test
  void theGuardSeesTheNamesItIsAbout() {
    assertThat(names("      case \"postgresql\" -> insert;")).containsExactly("\"postgresql\"");
    assertThat(names("if (url.startsWith(\"jdbc:mariadb:\") || name.equals(\"MySQL\"))"))
        .containsExactly("\"jdbc:mariadb:\"", "\"MySQL\"");
    assertThat(names("connector.endsWith(\"PostgresConnector\")"))
        .containsExactly("\"PostgresConnector\"");
    assertThat(names("p.put(\"connector.class\", \"io.debezium.connector.mysql.MySqlConnector\")"))
        .containsExactly("\"io.debezium.connector.mysql.MySqlConnector\"");
    assertThat(names("String product = metaData.getDatabaseProductName();"))
        .containsExactly("getDatabaseProductName");
    // SQL and messages that merely mention a database are not switches on its name.
    assertThat(names("\"SELECT value FROM mysql.rds_configuration\", \"needs PostgreSQL 12\""))
        .isEmpty();
  }

  private static boolean inDialectPackage(Path relative) {
    for (Path part : relative) {
      if (part.toString().equals("dialect")) {
        return true;
      }
    }
    return false;
  }

  private static List<String> databaseNames(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> found = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      for (String name : names(lines.get(i))) {
        found.add(file.normalize() + ":" + (i + 1) + ": " + name);
      }
    }
    return found;
  }

  private static List<String> names(String line) {
    List<String> found = new ArrayList<>();
    Matcher literal = LITERAL.matcher(line);
    while (literal.find()) {
      if (DATABASE_NAME.matcher(literal.group(1)).matches()) {
        found.add(literal.group());
      }
    }
    if (line.contains("getDatabaseProductName")) {
      found.add("getDatabaseProductName");
    }
    return found;
  }
}
