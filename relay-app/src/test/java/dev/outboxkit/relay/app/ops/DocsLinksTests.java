package dev.outboxkit.relay.app.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every relative link of the README and of every page under docs/ (runbooks included) leads to a
 * file or directory that exists, and every {@code #anchor} to a heading (or an {@code <a id>}) of
 * the page it names, with GitHub's heading ids. Links inside code blocks and code spans are not
 * links. Issue 21: the check covered relay.md only.
 */
class DocsLinksTests {

  private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");
  private static final Pattern HEADING = Pattern.compile("^#{1,6}\\s+(.*?)\\s*#*\\s*$");
  private static final Pattern HTML_ANCHOR = Pattern.compile("<a\\s+(?:id|name)=\"([^\"]+)\"");
  private static final Pattern CODE_SPAN = Pattern.compile("`[^`]*`");
  private static final Pattern INLINE_LINK = Pattern.compile("\\[([^\\]]*)\\]\\([^)]*\\)");
  private static final Pattern NOT_IN_ID = Pattern.compile("[^\\p{L}\\p{N}_\\- ]");

  @Test
  void everyRelativeLinkAndAnchorOfTheReadmeAndTheDocsResolves() throws IOException {
    Path root = DeployFiles.root();
    List<Path> pages = new ArrayList<>();
    pages.add(root.resolve("README.md"));
    try (Stream<Path> docs = Files.walk(root.resolve("docs"))) {
      docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
    }
    Map<Path, Set<String>> anchors = new HashMap<>();
    List<String> broken = new ArrayList<>();
    int checked = 0;
    for (Path page : pages) {
      List<String> lines = prose(page);
      for (int i = 0; i < lines.size(); i++) {
        Matcher m = LINK.matcher(CODE_SPAN.matcher(lines.get(i)).replaceAll(""));
        while (m.find()) {
          String href = m.group(1);
          if (href.contains("://") || href.startsWith("mailto:")) {
            continue;
          }
          checked++;
          int hash = href.indexOf('#');
          String file = hash < 0 ? href : href.substring(0, hash);
          Path target = file.isEmpty() ? page : page.getParent().resolve(file).normalize();
          String where = root.relativize(page) + ":" + (i + 1) + " links " + href;
          if (!Files.exists(target)) {
            broken.add(where + ": no such file");
          } else if (hash >= 0 && target.toString().endsWith(".md")) {
            String anchor = href.substring(hash + 1);
            if (!anchors.computeIfAbsent(target, DocsLinksTests::anchors).contains(anchor)) {
              broken.add(where + ": no heading with that id in " + root.relativize(target));
            }
          }
        }
      }
    }
    assertThat(checked).as("relative links found").isGreaterThan(100);
    assertThat(broken).as("broken links").isEmpty();
  }

  /** GitHub's ids: the heading's text, lower case, punctuation dropped, spaces as hyphens. */
  static String headingId(String heading) {
    String text = INLINE_LINK.matcher(heading).replaceAll("$1").strip().toLowerCase(Locale.ROOT);
    return NOT_IN_ID.matcher(text).replaceAll("").replace(' ', '-');
  }

  private static Set<String> anchors(Path page) {
    Set<String> ids = new HashSet<>();
    Map<String, Integer> seen = new HashMap<>();
    for (String line : prose(page)) {
      Matcher heading = HEADING.matcher(line);
      if (heading.matches()) {
        String id = headingId(heading.group(1));
        int before = seen.merge(id, 1, Integer::sum) - 1;
        ids.add(before == 0 ? id : id + "-" + before);
      }
      Matcher html = HTML_ANCHOR.matcher(line);
      while (html.find()) {
        ids.add(html.group(1));
      }
    }
    return ids;
  }

  /** The page's lines with fenced code blocks blanked (line numbers kept). */
  private static List<String> prose(Path page) {
    List<String> lines;
    try {
      lines = Files.readAllLines(page, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> out = new ArrayList<>(lines.size());
    boolean fenced = false;
    for (String line : lines) {
      if (line.stripLeading().startsWith("```")) {
        fenced = !fenced;
        out.add("");
      } else {
        out.add(fenced ? "" : line);
      }
    }
    return out;
  }

  @Test
  void headingIdsFollowGitHub() {
    assertThat(headingId("Properties (`outbox.relay.*`)")).isEqualTo("properties-outboxrelay");
    assertThat(headingId("Transactional fencing (opt-in)"))
        .isEqualTo("transactional-fencing-opt-in");
    assertThat(headingId("Runbook: many events parked")).isEqualTo("runbook-many-events-parked");
  }
}
