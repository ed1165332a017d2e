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

  /** The formats of {@code --output}. */
  enum Format {
    TABLE,
    JSON
  }

  /** {@code --json} or {@code --output json}, shared by every command that prints a result. */
  static final class JsonOption {
    @Option(names = "--json", description = "One JSON document instead of text tables.")
    boolean json;

    @Option(
        names = "--output",
        paramLabel = "FORMAT",
        description = "table (default) or json (the same as --json).")
    Format format = Format.TABLE;
  }

  Output output(JsonOption option) {
    return new Output(out, err, option.json || option.format == Format.JSON);
  }
}
