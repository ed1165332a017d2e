package dev.outboxkit.relay.app.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Issue 21's "docs describe each command with an example session" and "the runbooks use the CLI for
 * every step that needed SQL", checked without a server: every command has a session in
 * docs/operations.md, every command line the docs show parses (no option that does not exist), and
 * no runbook asks for SQL other than a marked fix step.
 */
class OperatorCliDocsTests {

  private static final String PROMPT = "$ java -jar outbox-relay-app.jar ";

  @Test
  void everyCommandHasAnExampleSessionInTheOperationsPage() throws IOException {
    String page = Files.readString(docs().resolve("operations.md"), StandardCharsets.UTF_8);
    List<String> missing = new ArrayList<>();
    for (String command : commands(commandLine(), "")) {
      if (!page.contains(PROMPT + command)) {
        missing.add(command);
      }
    }
    assertThat(missing).as("commands without a session in docs/operations.md").isEmpty();
  }

  @Test
  void everyCommandLineInTheDocsParses() throws IOException {
    List<String> lines = new ArrayList<>();
    try (Stream<Path> pages =
        Stream.concat(Files.list(docs()), Files.list(docs().resolve("runbooks")))) {
      for (Path page : pages.filter(p -> p.toString().endsWith(".md")).toList()) {
        for (String line : Files.readAllLines(page, StandardCharsets.UTF_8)) {
          int at = line.indexOf(PROMPT);
          if (at >= 0) {
            lines.add(page.getFileName() + ": " + line.substring(at + PROMPT.length()).strip());
          }
        }
      }
    }
    assertThat(lines).hasSizeGreaterThan(20);
    for (String line : lines) {
      String command = line.substring(line.indexOf(": ") + 2).replaceAll("`.*$", "");
      List<String> args =
          Arrays.stream(command.split("\\s+"))
              .filter(a -> !a.matches("--[A-Za-z][\\w-]*\\.[\\w.\\[\\]-]+=.*"))
              .filter(a -> !a.equals("--operator") && !a.startsWith("--operator="))
              .toList();
      List<String> parsed = new ArrayList<>(args);
      // --operator's value is not a command argument.
      int operator = command.indexOf("--operator ");
      if (operator >= 0) {
        parsed.remove(command.substring(operator + 11).split("\\s+")[0]);
      }
      try {
        commandLine().parseArgs(parsed.toArray(String[]::new));
      } catch (CommandLine.ParameterException e) {
        throw new AssertionError(line + " does not parse: " + e.getMessage(), e);
      }
    }
  }

  /**
   * The {@code status} (polling and CDC mode) and {@code leases} sessions of the operations page
   * and the runbooks are captured output: each shows the tables with the columns the command prints
   * now (a column added to the command makes every hand-kept session fail here), and each runbook
   * session says it was captured.
   */
  @Test
  void everyStatusAndLeasesSessionIsCapturedWithTheColumnsTheCommandPrintsNow() throws IOException {
    List<String> wrong = new ArrayList<>();
    int sessions = 0;
    try (Stream<Path> pages =
        Stream.concat(
            Stream.of(docs().resolve("operations.md")), Files.list(docs().resolve("runbooks")))) {
      for (Path page : pages.filter(p -> p.toString().endsWith(".md")).sorted().toList()) {
        List<String> lines = Files.readAllLines(page, StandardCharsets.UTF_8);
        boolean runbook = page.getParent().getFileName().toString().equals("runbooks");
        for (int i = 0; i < lines.size(); i++) {
          String line = lines.get(i).strip();
          List<List<String>> headers = sessionHeaders(line);
          if (headers == null) {
            continue;
          }
          sessions++;
          String where = page.getFileName() + ":" + (i + 1);
          StringBuilder block = new StringBuilder();
          for (int j = i + 1; j < lines.size() && !lines.get(j).startsWith("```"); j++) {
            block.append(lines.get(j)).append('\n');
          }
          for (List<String> header : headers) {
            if (!Pattern.compile("(?m)^" + String.join(" {2,}", header) + "$")
                .matcher(block)
                .find()) {
              wrong.add(where + " lacks the header " + header);
            }
          }
          if (runbook && !capturedMarkAbove(lines, i)) {
            wrong.add(where + " is not marked *Captured ...*");
          }
        }
      }
    }
    assertThat(sessions).as("status and leases sessions").isGreaterThan(8);
    assertThat(wrong).isEmpty();
  }

  /** The headers a session of this command line must show, or null if it is no such session. */
  private static List<List<String>> sessionHeaders(String line) {
    if (!line.startsWith(PROMPT) || line.contains("--json") || line.contains("--output")) {
      return null;
    }
    String command = line.substring(PROMPT.length()).strip();
    if (command.equals("status")) {
      return List.of(RelayCommands.STATUS_HEADER);
    }
    if (command.startsWith("status ") && command.contains("--outbox.relay.mode=cdc")) {
      return List.of(RelayCommands.CDC_STATUS_HEADER);
    }
    if (command.equals("leases")) {
      return RelayCommands.LEASES_HEADERS;
    }
    return null;
  }

  /** Whether a line {@code *Captured ...*} precedes the code fence of the session at {@code i}. */
  private static boolean capturedMarkAbove(List<String> lines, int i) {
    for (int j = i - 1; j >= 0 && j >= i - 4; j--) {
      if (lines.get(j).strip().startsWith("*Captured")) {
        return true;
      }
    }
    return false;
  }

  @Test
  void noRunbookStepNeedsSqlButTheMarkedFix() throws IOException {
    List<String> sql = new ArrayList<>();
    try (Stream<Path> pages = Files.list(docs().resolve("runbooks"))) {
      for (Path page : pages.filter(p -> p.toString().endsWith(".md")).sorted().toList()) {
        List<String> lines = Files.readAllLines(page, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
          String fence = lines.get(i).strip();
          if (fence.startsWith("```sql") && !fence.equals("```sql norun")) {
            sql.add(page.getFileName() + ":" + (i + 1));
          }
        }
      }
    }
    assertThat(sql).as("SQL blocks in the runbooks (use the operator CLI)").isEmpty();
  }

  private static CommandLine commandLine() {
    CliSession session =
        new CliSession(List.of(), Clock.systemUTC(), new dev.outboxkit.relay.AuditActor("t", "t"));
    return OperatorCli.commandLine(
        new CliContext(
            session, new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter())));
  }

  /** Every runnable command path, e.g. {@code status}, {@code parked groups}. */
  private static List<String> commands(CommandLine line, String prefix) {
    List<String> all = new ArrayList<>();
    line.getSubcommands()
        .forEach(
            (name, sub) -> {
              if (name.equals("help")) {
                return;
              }
              String path = prefix + name;
              if (sub.getCommand() instanceof ParkedCommands.Parked) {
                all.addAll(commands(sub, path + " "));
              } else {
                all.add(path);
                all.addAll(commands(sub, path + " "));
              }
            });
    return all;
  }

  private static Path docs() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isDirectory(dir.resolve("docs/runbooks"))) {
      dir = dir.getParent();
    }
    assertThat(dir).as("docs/runbooks above the working directory").isNotNull();
    return dir.resolve("docs");
  }
}
