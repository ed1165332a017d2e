package dev.outboxkit.relay.app.cli;

import java.io.PrintWriter;
import picocli.CommandLine.Option;

/**
 * What every command gets: the database session and where to write.
 *
 * @param session the database side, booted on first use
 * @param out standard output
 * @param err standard error
 */
record CliContext(CliSession session, PrintWriter out, PrintWriter err) {

  /** {@code --json}, shared by every command that prints a result. */
  static final class JsonOption {
    @Option(names = "--json", description = "One JSON document instead of text tables.")
    boolean json;
  }

  Output output(JsonOption option) {
    return new Output(out, err, option.json);
  }
}
