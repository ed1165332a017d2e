package dev.outboxkit.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The switch of the writers' idempotency keys and the purge: on by default, off with {@code
 * --idempotency-keys 0}, its figures in the report and what makes them a violation.
 */
class KeyLoadTests {

  @Test
  void keysAndThePurgeAreOnByDefault() {
    KeyLoad load = parse().keyLoad();
    assertThat(load.enabled()).isTrue();
    assertThat(load).isEqualTo(KeyLoad.defaults());
    assertThat(load.perTransaction()).isEqualTo(3);
    assertThat(load.ttl()).isEqualTo(Duration.ofSeconds(1));
    assertThat(load.purgeInterval()).isEqualTo(Duration.ofMillis(150));
  }

  @Test
  void zeroKeysTurnsKeysInboxAndPurgeOff() {
    assertThat(parse("--idempotency-keys", "0").keyLoad().enabled()).isFalse();
    assertThat(KeyLoad.off().enabled()).isFalse();
  }

  @Test
  void theOptionsReachTheRun() {
    assertThat(
            parse(
                    "--idempotency-keys",
                    "5",
                    "--idempotency-ttl",
                    "500ms",
                    "--purge-interval",
                    "50ms",
                    "--purge-batch-size",
                    "4")
                .keyLoad())
        .isEqualTo(new KeyLoad(5, Duration.ofMillis(500), Duration.ofMillis(50), 4));
  }

  @Test
  void badValuesNameTheOption() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> parse("--idempotency-keys", "-1"))
        .withMessage("--idempotency-keys must be 0 (off) or more, was -1");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> parse("--idempotency-ttl", "0s"))
        .withMessageStartingWith("--idempotency-ttl must be positive");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> parse("--purge-interval", "0ms"))
        .withMessageStartingWith("--purge-interval must be positive");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> parse("--purge-batch-size", "0"))
        .withMessage("--purge-batch-size must be at least 1, was 0");
    assertThat(ChaosMain.execute("--idempotency-keys", "-1")).isEqualTo(2);
  }

  @Test
  void theReportCountsClaimsAndPurgesOnlyWhenTheyRan() {
    ChaosReport.KeyFigures figures =
        new ChaosReport.KeyFigures(
            true, 600, 14_784, 2, 0, 0, 569, 14_815, 165, 653, List.of(), 1, 0, List.of("killed"));
    assertThat(figures.claimed()).isEqualTo(15_386);
    assertThat(report(figures).toText())
        .contains(
            "  idem. keys    15386 claimed (600 executed, 14784 replayed, 2 in flight, 0 blocked),"
                + " inbox 569 processed, 14815 duplicates\n")
        .contains(
            "  purge         165 runs, 653 rows purged, 1 failed (0 rolled back by the database)\n")
        .contains("    purge failed: killed\n");
    assertThat(report(ChaosReport.KeyFigures.none()).toText())
        .doesNotContain("idem. keys")
        .doesNotContain("purge");
  }

  private static ChaosConfig parse(String... args) {
    ChaosMain main = new ChaosMain();
    CommandLine line = new CommandLine(main);
    line.registerConverter(Duration.class, ChaosMain::duration);
    line.parseArgs(args);
    return main.config();
  }

  private static ChaosReport report(ChaosReport.KeyFigures keys) {
    return new ChaosReport(
        "test",
        "polling",
        1,
        1,
        java.util.Map.of(),
        java.util.Map.of(),
        10,
        0,
        0,
        0,
        keys,
        10,
        0,
        0,
        0,
        100,
        0,
        0,
        0,
        List.of(),
        List.of(),
        List.of(),
        java.util.Map.of(),
        List.of(),
        List.of(),
        List.of(),
        List.of(),
        1);
  }
}
