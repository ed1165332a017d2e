package dev.outboxkit.benchmarks.peers;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.BitmapEncoder.BitmapFormat;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries.XYSeriesRenderStyle;
import org.knowm.xchart.style.Styler.LegendPosition;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Writes the peer benchmark's results as a Markdown table ({@code peers.md}) and four PNG plots
 * (throughput bars, latency CDF, drain over time, backlog against drain rate) into one directory.
 */
final class PeerReport {

  private final Path directory;
  private final List<String> header;
  private final Map<String, List<PassResult>> passes = new LinkedHashMap<>();
  private final Map<String, LatencyResult> latencies;
  private final Map<String, String> settings;
  private final Map<String, String> failures;
  private final int rate;
  private final String anchor;
  private final String ceiling;

  PeerReport(
      Path directory,
      List<String> header,
      List<PassResult> results,
      Map<String, LatencyResult> latencies,
      Map<String, String> settings,
      Map<String, String> failures,
      int rate,
      String anchor,
      String ceiling) {
    this.directory = directory;
    this.header = header;
    this.latencies = latencies;
    this.settings = settings;
    this.failures = failures;
    this.rate = rate;
    this.anchor = anchor;
    this.ceiling = ceiling;
    settings.keySet().forEach(name -> passes.put(name, new ArrayList<>()));
    results.forEach(r -> passes.get(r.contender()).add(r));
  }

  /** Writes {@code peers.md} and the plots; returns the Markdown. */
  String write() throws IOException {
    Files.createDirectories(directory);
    String markdown = markdown();
    Files.writeString(directory.resolve("peers.md"), markdown, StandardCharsets.UTF_8);
    System.setProperty("java.awt.headless", "true");
    throughputBars();
    latencyCdf();
    drainOverTime();
    backlogAgainstRate();
    return markdown;
  }

  private static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(null);
    int n = sorted.size();
    return n == 0
        ? Double.NaN
        : n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  private double medianDrain(String name) {
    return median(passes.get(name).stream().map(PassResult::drainRate).toList());
  }

  /** The median drain of a contender, or NaN when it was not run or not measured. */
  private double medianDrainIfMeasured(String name) {
    List<PassResult> results = passes.get(name);
    return results == null || results.isEmpty() ? Double.NaN : medianDrain(name);
  }

  /** {@code rate ÷ base} to two places, or a dash when there is no base to divide by. */
  private static String ratio(double rate, double base) {
    return Double.isNaN(base) ? "–" : String.format(Locale.ROOT, "%.2f", rate / base);
  }

  private double bestDrain(String name) {
    return passes.get(name).stream().mapToDouble(PassResult::drainRate).max().orElse(Double.NaN);
  }

  /** The pass whose drain rate is the median one (the lower middle for an even count). */
  private PassResult medianPass(String name) {
    List<PassResult> sorted = new ArrayList<>(passes.get(name));
    sorted.sort(Comparator.comparingDouble(PassResult::drainRate));
    return sorted.get((sorted.size() - 1) / 2);
  }

  private List<String> measured() {
    return passes.keySet().stream().filter(name -> !passes.get(name).isEmpty()).toList();
  }

  private String markdown() {
    StringBuilder md = new StringBuilder();
    md.append("<!-- Written by PeerBenchmark (benchmarks/); see docs/benchmarks.md. -->\n\n");
    header.forEach(line -> md.append(line).append("  \n"));
    md.append('\n');
    md.append(
        "| Contender | drain, median (events/s) | best | median ÷ "
            + anchor
            + " | median ÷ "
            + ceiling
            + " | first event after start, median | append, tx of 100 (events/s, median) |"
            + " latency p50 / p99 / max at "
            + rate
            + " events/s |\n");
    md.append("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    double anchorRate = medianDrainIfMeasured(anchor);
    double ceilingRate = medianDrainIfMeasured(ceiling);
    for (String name : passes.keySet()) {
      if (passes.get(name).isEmpty()) {
        md.append("| ")
            .append(name)
            .append(" | not measured: ")
            .append(failures.getOrDefault(name, "no pass finished"))
            .append(" | | | | | | |\n");
        continue;
      }
      double drain = medianDrain(name);
      double append = median(passes.get(name).stream().map(PassResult::appendRate).toList());
      double first = median(passes.get(name).stream().map(PassResult::firstEventMillis).toList());
      LatencyResult latency = latencies.get(name);
      md.append(
          String.format(
              Locale.ROOT,
              "| %s | %,.0f | %,.0f | %s | %s | %,.0f ms | %s | %s |%n",
              name,
              drain,
              bestDrain(name),
              ratio(drain, anchorRate),
              ratio(drain, ceilingRate),
              first,
              name.equals(ceiling) ? "–" : String.format(Locale.ROOT, "%,.0f", append),
              latency == null || latency.sortedMillis().isEmpty()
                  ? "–"
                  : String.format(
                      Locale.ROOT,
                      "%d / %d / %d ms (%d of %d received)",
                      latency.at(0.50),
                      latency.at(0.99),
                      latency.max(),
                      latency.sortedMillis().size(),
                      latency.written())));
    }
    md.append("\nPasses (drain events/s, in run order):\n\n");
    for (String name : measured()) {
      md.append("- ").append(name).append(": ");
      md.append(
          String.join(
              ", ",
              passes.get(name).stream()
                  .map(
                      p ->
                          String.format(
                              Locale.ROOT,
                              "%,.0f (all %d in %.2f s from start)",
                              p.drainRate(),
                              p.events(),
                              p.totalSeconds()))
                  .toList()));
      md.append('\n');
    }
    failures.forEach(
        (name, why) -> md.append("- ").append(name).append(": ").append(why).append('\n'));
    md.append("\nSettings:\n\n");
    settings.forEach(
        (name, how) -> md.append("- ").append(name).append(": ").append(how).append('\n'));
    return md.toString();
  }

  private void save(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart, String file)
      throws IOException {
    BitmapEncoder.saveBitmap(chart, directory.resolve(file).toString(), BitmapFormat.PNG);
  }

  private void throughputBars() throws IOException {
    CategoryChart chart =
        new CategoryChartBuilder()
            .width(1000)
            .height(520)
            .title("Backlog drain to Kafka (first to last arrival)")
            .xAxisTitle("contender")
            .yAxisTitle("events/s")
            .build();
    chart.getStyler().setLegendPosition(LegendPosition.InsideNE);
    chart.getStyler().setLabelsVisible(true);
    chart.getStyler().setXAxisLabelRotation(10);
    List<String> names = measured();
    chart.addSeries("median", names, names.stream().map(n -> (Number) medianDrain(n)).toList());
    chart.addSeries("best", names, names.stream().map(n -> (Number) bestDrain(n)).toList());
    save(chart, "peers-throughput");
  }

  private static XYChart xyChart(String title, String x, String y) {
    XYChart chart =
        new XYChartBuilder()
            .width(1000)
            .height(520)
            .title(title)
            .xAxisTitle(x)
            .yAxisTitle(y)
            .build();
    chart.getStyler().setDefaultSeriesRenderStyle(XYSeriesRenderStyle.Line);
    chart.getStyler().setLegendPosition(LegendPosition.OutsideS);
    return chart;
  }

  private void latencyCdf() throws IOException {
    XYChart chart =
        xyChart(
            "Delivery latency, append to consumer, at " + rate + " events/s",
            "latency (ms, log)",
            "fraction of events");
    chart.getStyler().setXAxisLogarithmic(true);
    chart.getStyler().setYAxisMin(0.0);
    chart.getStyler().setYAxisMax(1.0);
    chart.getStyler().setYAxisDecimalPattern("0.0");
    chart.getStyler().setYAxisTickMarkSpacingHint(60);
    for (LatencyResult latency : latencies.values()) {
      List<Long> sorted = latency.sortedMillis();
      if (sorted.isEmpty()) {
        continue;
      }
      int points = Math.min(400, sorted.size());
      double[] x = new double[points];
      double[] y = new double[points];
      for (int i = 0; i < points; i++) {
        int index = (int) ((long) (i + 1) * sorted.size() / points) - 1;
        x[i] = Math.max(0.5, sorted.get(index));
        y[i] = (index + 1) / (double) sorted.size();
      }
      chart.addSeries(latency.contender(), x, y).setMarker(SeriesMarkers.NONE);
    }
    save(chart, "peers-latency-cdf");
  }

  private void drainOverTime() throws IOException {
    XYChart chart =
        xyChart(
            "Backlog still pending while it drains (median pass)",
            "seconds since the relay was started (log)",
            "events pending");
    chart.getStyler().setXAxisLogarithmic(true);
    for (String name : measured()) {
      List<double[]> slices = medianPass(name).slices(60);
      double[] x = slices.stream().mapToDouble(s -> Math.max(1e-3, s[0])).toArray();
      double[] y = slices.stream().mapToDouble(s -> s[1]).toArray();
      chart.addSeries(name, x, y).setMarker(SeriesMarkers.NONE);
    }
    save(chart, "peers-drain-over-time");
  }

  private void backlogAgainstRate() throws IOException {
    XYChart chart =
        xyChart(
            "Drain rate against the backlog still pending (median pass, 40 slices)",
            "events pending at the start of the slice",
            "events/s within the slice (log)");
    chart.getStyler().setYAxisLogarithmic(true);
    chart.getStyler().setDefaultSeriesRenderStyle(XYSeriesRenderStyle.Scatter);
    for (String name : measured()) {
      List<double[]> slices = medianPass(name).slices(40).stream().filter(s -> s[2] > 0).toList();
      if (slices.isEmpty()) {
        continue;
      }
      chart.addSeries(
          name,
          slices.stream().mapToDouble(s -> s[1]).toArray(),
          slices.stream().mapToDouble(s -> s[2]).toArray());
    }
    save(chart, "peers-backlog-vs-rate");
  }
}
