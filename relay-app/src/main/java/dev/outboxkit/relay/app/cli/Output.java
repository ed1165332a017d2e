package dev.outboxkit.relay.app.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * Writes a command's result: aligned text tables for people, or one JSON document for scripts
 * ({@code --json}). Only values the commands read from the outbox go out, never configuration.
 */
final class Output {

  private static final JsonMapper JSON =
      JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

  private final PrintWriter out;
  private final PrintWriter err;
  private final boolean json;

  Output(PrintWriter out, PrintWriter err, boolean json) {
    this.out = out;
    this.err = err;
    this.json = json;
  }

  boolean json() {
    return json;
  }

  /** A line for people; dropped in JSON mode, where only the document goes to standard output. */
  void line(String format, Object... args) {
    if (!json) {
      out.printf(format + "%n", args);
    }
  }

  /**
   * Progress: standard output for people, standard error in JSON mode (the document stays clean).
   */
  void progress(String format, Object... args) {
    (json ? err : out).printf(format + "%n", args);
    (json ? err : out).flush();
  }

  void error(String format, Object... args) {
    err.printf(format + "%n", args);
  }

  /** The JSON document of the result (only in JSON mode). */
  void document(Object value) {
    if (json) {
      out.println(JSON.writeValueAsString(value));
    }
  }

  /** An aligned table; nothing but the header when there are no rows. */
  void table(List<String> header, List<List<String>> rows) {
    if (json) {
      return;
    }
    int[] widths = new int[header.size()];
    List<List<String>> all = new ArrayList<>();
    all.add(header);
    all.addAll(rows);
    for (List<String> row : all) {
      for (int i = 0; i < row.size(); i++) {
        widths[i] = Math.max(widths[i], row.get(i).length());
      }
    }
    for (List<String> row : all) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < row.size(); i++) {
        String cell = row.get(i);
        line.append(cell);
        if (i < row.size() - 1) {
          line.append(" ".repeat(widths[i] - cell.length() + 2));
        }
      }
      out.println(line.toString().stripTrailing());
    }
  }

  /** {@code 3s}, {@code 2m05s}, {@code 1h02m}, {@code 3d04h}; {@code -} when unknown. */
  static String age(@Nullable Duration age) {
    if (age == null) {
      return "-";
    }
    long s = age.toSeconds();
    if (s < 60) {
      return s + "s";
    }
    if (s < 3600) {
      return String.format("%dm%02ds", s / 60, s % 60);
    }
    if (s < 86_400) {
      return String.format("%dh%02dm", s / 3600, (s % 3600) / 60);
    }
    return String.format("%dd%02dh", s / 86_400, (s % 86_400) / 3600);
  }

  /** Text cut to {@code max} characters, for table cells. */
  static String cut(@Nullable String text, int max) {
    if (text == null) {
      return "-";
    }
    // Collapsed and without control characters: the text comes from the database, and an escape
    // sequence in an error or id must not drive the operator's terminal.
    String one = text.replaceAll("\\s+", " ").replaceAll("[\\p{Cntrl}\\p{Cf}]", "?");
    return one.length() <= max ? one : one.substring(0, max - 3) + "...";
  }
}
