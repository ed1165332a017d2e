package dev.outboxkit.relay.app.ops;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Fenced code blocks of the Markdown pages in a folder. A block's info string must be exactly the
 * language asked for: {@code ```sql norun} marks a statement that must not run in a test (e.g.
 * dropping a replication slot).
 */
final class Markdown {

  record Block(String where, String text) {}

  private Markdown() {}

  static List<Block> blocks(Path folder, String language) throws IOException {
    List<Block> blocks = new ArrayList<>();
    List<Path> pages;
    try (Stream<Path> files = Files.list(folder)) {
      pages = files.filter(p -> p.toString().endsWith(".md")).sorted().toList();
    }
    for (Path page : pages) {
      List<String> lines = Files.readAllLines(page, StandardCharsets.UTF_8);
      for (int i = 0; i < lines.size(); i++) {
        if (lines.get(i).strip().equals("```" + language)) {
          int start = i + 1;
          StringBuilder text = new StringBuilder();
          for (i = start; i < lines.size() && !lines.get(i).strip().equals("```"); i++) {
            text.append(lines.get(i).strip()).append('\n');
          }
          blocks.add(new Block(page.getFileName() + ":" + start, text.toString().strip()));
        }
      }
    }
    return blocks;
  }
}
