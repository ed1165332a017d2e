package dev.outboxkit.relay.app.cli;

import dev.outboxkit.relay.AuditActor;
import java.io.PrintWriter;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.springframework.core.NestedExceptionUtils;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The operator CLI: {@code java -jar outbox-relay-app.jar <command>}. Arguments of the form {@code
 * --some.property=value} (a dot in the name) are configuration, exactly as for the relay; the rest
 * is the command line. The operator recorded in the audit trail is {@code --operator}, else {@code
 * OUTBOX_OPERATOR_NAME}, else {@code cli:<OS user>}.
 */
public final class OperatorCli {

  private static final Set<String> COMMANDS =
      Set.of("status", "leases", "check", "pending", "cdc", "parked", "help", "--help");
  private static final Pattern PROPERTY = Pattern.compile("--[A-Za-z][\\w-]*\\.[\\w.\\[\\]-]+=.*");

  private OperatorCli() {}

  /** Whether the arguments name a CLI command (otherwise the jar runs the relay). */
  public static boolean handles(String[] args) {
    return args.length > 0 && COMMANDS.contains(args[0]);
  }

  /**
   * Runs one command.
   *
   * @param args the command line, configuration arguments ({@code --a.b=c}) included
   * @param out standard output
   * @param err standard error
   * @param env the environment (for {@code OUTBOX_OPERATOR_NAME} and {@code HOSTNAME})
   * @return the exit code ({@link ExitCodes})
   */
  public static int run(String[] args, PrintWriter out, PrintWriter err, Map<String, String> env) {
    List<String> properties = new ArrayList<>();
    List<String> command = new ArrayList<>();
    String operator = null;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (PROPERTY.matcher(arg).matches()) {
        properties.add(arg);
      } else if (arg.startsWith("--operator=")) {
        operator = arg.substring("--operator=".length());
      } else if (arg.equals("--operator") && i + 1 < args.length) {
        operator = args[++i];
      } else {
        command.add(arg);
      }
    }
    AuditActor actor = actor(operator, env);
    try (CliSession session = new CliSession(properties, Clock.systemUTC(), actor)) {
      CommandLine line = commandLine(new CliContext(session, out, err));
      line.setOut(out);
      line.setErr(err);
      line.setExecutionExceptionHandler(
          (e, commandLine, parsed) -> {
            if (e instanceof IllegalArgumentException) {
              err.println("Error: " + e.getMessage());
              return ExitCodes.USAGE;
            }
            err.println("Error: " + describe(e));
            return ExitCodes.DATABASE;
          });
      int code = line.execute(command.toArray(String[]::new));
      out.flush();
      err.flush();
      return code;
    } catch (RuntimeException e) {
      // Closing the session (the context) failed after the command ran.
      err.println("Error: " + describe(e));
      err.flush();
      return ExitCodes.DATABASE;
    }
  }

  static CommandLine commandLine(CliContext cli) {
    CommandLine root = new CommandLine(new Root());
    root.addSubcommand(new RelayCommands.Status(cli));
    root.addSubcommand(new RelayCommands.LeasesCommand(cli));
    root.addSubcommand(new RelayCommands.CheckCommand(cli));
    CommandLine pending = new CommandLine(new PendingCommands.Summary(cli));
    pending.addSubcommand(new PendingCommands.ListCommand(cli));
    root.addSubcommand(pending);
    root.addSubcommand(new CdcCommand(cli));
    CommandLine parked = new CommandLine(new ParkedCommands.Parked());
    parked.addSubcommand(new ParkedCommands.Groups(cli));
    parked.addSubcommand(new ParkedCommands.ListCommand(cli));
    parked.addSubcommand(new ParkedCommands.Replay(cli));
    parked.addSubcommand(new ParkedCommands.Purge(cli));
    root.addSubcommand(parked);
    root.addSubcommand(new CommandLine.HelpCommand());
    // --output json as well as JSON; set last so that every subcommand has it.
    root.setCaseInsensitiveEnumValuesAllowed(true);
    return root;
  }

  /** The message chain's most specific part: the root cause, e.g. the driver's refusal. */
  private static String describe(Exception e) {
    Throwable root = NestedExceptionUtils.getMostSpecificCause(e);
    String message = e.getMessage();
    if (root != e && root.getMessage() != null) {
      message = message + " (" + root.getClass().getSimpleName() + ": " + root.getMessage() + ")";
    }
    return message == null ? e.getClass().getSimpleName() : message;
  }

  private static AuditActor actor(@Nullable String operator, Map<String, String> env) {
    String name = operator;
    if (name == null || name.isBlank()) {
      name = env.get("OUTBOX_OPERATOR_NAME");
    }
    if (name == null || name.isBlank()) {
      name = "cli:" + System.getProperty("user.name", "unknown");
    }
    String host = env.get("HOSTNAME");
    return new AuditActor(name, host == null || host.isBlank() ? "cli" : "cli@" + host);
  }

  @Command(
      name = "outbox-relay-app.jar",
      mixinStandardHelpOptions = true,
      description =
          "Operator commands for the outbox relay, configured like the relay (same properties and"
              + " environment variables; --some.property=value arguments too). --operator NAME (or"
              + " OUTBOX_OPERATOR_NAME) names you in the audit trail.",
      footer = {"", ExitCodes.HELP})
  static final class Root implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      throw new ParameterException(spec.commandLine(), "Name a command");
    }
  }
}
