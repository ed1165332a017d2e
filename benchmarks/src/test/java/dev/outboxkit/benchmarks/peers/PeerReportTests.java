package dev.outboxkit.benchmarks.peers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.GraphicsEnvironment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The peer report's arithmetic and output, from made-up passes (no server). */
class PeerReportTests {

  @TempDir Path directory;

  /** {@code events} arrivals evenly spaced {@code gapMillis} apart, the first at {@code first}. */
  private static PassResult pass(String name, int pass, int events, long firstMillis, long gap) {
    long[] arrivals = new long[events];
    for (int i = 0; i < events; i++) {
      arrivals[i] = (firstMillis + i * gap) * 1_000_000L;
    }
    return new PassResult(name, pass, events, 0, arrivals, 1000.0 * pass);
  }

  @Test
  void drainRateRunsFromTheFirstArrivalToTheLast() {
    PassResult result = pass("a", 1, 1001, 200, 1);

    assertThat(result.drainRate()).isEqualTo(1000.0);
    assertThat(result.firstEventMillis()).isEqualTo(200.0);
    assertThat(result.totalSeconds()).isEqualTo(1.2);
  }

  @Test
  void slicesCountTheBacklogStillPendingAndTheRateWithin() {
    List<double[]> slices = pass("a", 1, 1001, 0, 1).slices(10);

    assertThat(slices).hasSizeGreaterThanOrEqualTo(10);
    assertThat(slices.get(0)[1]).isEqualTo(1001.0);
    assertThat(slices.get(0)[2]).isEqualTo(1000.0);
    assertThat(slices.stream().mapToDouble(s -> s[2] * 0.1).sum()).isCloseTo(1001.0, within());
  }

  private static org.assertj.core.data.Offset<Double> within() {
    return org.assertj.core.data.Offset.offset(1.0);
  }

  /**
   * XChart draws text with the JDK's fonts; a machine with only a JDK (no fontconfig, no font
   * package) has none, and drawing then fails inside the JDK, not in the report.
   */
  private static boolean fontsInstalled() {
    try {
      return GraphicsEnvironment.getLocalGraphicsEnvironment().getAvailableFontFamilyNames().length
          > 0;
    } catch (RuntimeException | Error e) {
      return false;
    }
  }

  @Test
  void writesTheTableWithMediansRatiosAndFailuresAndFourPlots() throws Exception {
    assumeTrue(fontsInstalled(), "no fonts installed: the plots cannot be drawn here");
    Map<String, String> settings = new LinkedHashMap<>();
    settings.put("raw", "from memory");
    settings.put("kit", "defaults");
    settings.put("slow", "tuned");
    Map<String, String> failures = Map.of("slow", "pass 1: only 3 of 10 events arrived");
    List<PassResult> results =
        List.of(
            pass("raw", 1, 101, 10, 1), // 1,000/s
            pass("kit", 1, 101, 10, 4), // 250/s
            pass("kit", 2, 101, 10, 2), // 500/s
            pass("kit", 3, 101, 10, 5)); // 200/s
    Map<String, LatencyResult> latencies =
        Map.of("kit", new LatencyResult("kit", List.of(1L, 2L, 3L, 4L, 100L), 5, 1));

    String markdown =
        new PeerReport(
                directory,
                List.of("header"),
                results,
                latencies,
                settings,
                failures,
                500,
                "kit",
                "raw")
            .write();

    assertThat(markdown)
        .contains("| kit | 250 | 500 | 1.00 | 0.25 | 10 ms | 2,000 | 3 / 100 / 100 ms (5 of 5")
        .contains("| raw | 1,000 | 1,000 | 4.00 | 1.00 |")
        .contains("| slow | not measured: pass 1: only 3 of 10 events arrived |");
    assertThat(Files.readString(directory.resolve("peers.md"))).isEqualTo(markdown);
    for (String plot : List.of("throughput", "latency-cdf", "drain-over-time", "backlog-vs-rate")) {
      Path png = directory.resolve("peers-" + plot + ".png");
      assertThat(png).exists();
      assertThat(Files.size(png)).isGreaterThan(1000);
    }
  }

  @Test
  void aRunWithoutTheCeilingOrAnchorContenderLeavesTheirRatiosOpen() throws Exception {
    assumeTrue(fontsInstalled(), "no fonts installed: the plots cannot be drawn here");
    Map<String, String> settings = new LinkedHashMap<>();
    settings.put("kit", "defaults");
    settings.put("peer", "tuned");
    List<PassResult> results =
        List.of(pass("kit", 1, 101, 10, 4), pass("peer", 1, 101, 10, 8)); // 250/s, 125/s

    String markdown =
        new PeerReport(
                directory,
                List.of("header"),
                results,
                Map.of(),
                settings,
                Map.of(),
                500,
                "kit",
                "raw")
            .write();

    assertThat(markdown)
        .contains("| kit | 250 | 250 | 1.00 | – | 10 ms |")
        .contains("| peer | 125 | 125 | 0.50 | – | 10 ms |");

    String withoutAnchor =
        new PeerReport(
                directory,
                List.of("header"),
                List.of(pass("peer", 1, 101, 10, 8)),
                Map.of(),
                Map.of("peer", "tuned"),
                Map.of(),
                500,
                "kit",
                "raw")
            .write();

    assertThat(withoutAnchor).contains("| peer | 125 | 125 | – | – | 10 ms |");
  }
}
