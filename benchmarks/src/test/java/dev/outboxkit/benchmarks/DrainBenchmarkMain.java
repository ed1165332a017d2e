package dev.outboxkit.benchmarks;

/**
 * Runs {@link DrainBenchmark} without Maven, on an already built class path (with {@code java -cp},
 * for example under a profiler); the same {@code -Dbench.*} options.
 */
final class DrainBenchmarkMain {

  private DrainBenchmarkMain() {}

  public static void main(String[] args) throws Exception {
    new DrainBenchmark().drainSideBySide();
    System.exit(0);
  }
}
