package dev.outboxkit.chaos;

import dev.outboxkit.test.DatabaseKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * The chaos kit's command line. Exit status: 0 when every guarantee held, 1 on any violation, 2 for
 * bad arguments, 3 when the run could not be carried out. See {@code docs/chaos.md}.
 */
@Command(
    name = "outbox-chaos",
    mixinStandardHelpOptions = true,
    description =
        "Runs writers, standalone relays and faults in a loop against embedded servers (default) or"
            + " your own database and Kafka, then checks that no event was lost or reordered.")
public final class ChaosMain implements Callable<Integer> {

  @Option(names = "--database", description = "Embedded database: postgresql, mariadb, mysql.")
  String database = "postgresql";

  @Option(names = "--mode", description = "polling or cdc.")
  String mode = "polling";

  @Option(names = "--jdbc-url", description = "Your database (the outbox tables are created).")
  String jdbcUrl;

  @Option(names = "--user", description = "Your database account.")
  String user = "";

  @Option(
      names = "--password",
      description = "Your database password (or env OUTBOXKIT_CHAOS_PASSWORD).")
  String password = System.getenv().getOrDefault(ChaosRelayMain.PASSWORD_VARIABLE, "");

  @Option(names = "--bootstrap-servers", description = "Your Kafka.")
  String bootstrapServers;

  @Option(names = "--relays", description = "Relay processes. Default ${DEFAULT-VALUE}.")
  int relays = 2;

  @Option(names = "--keys", description = "Aggregate ids. Default ${DEFAULT-VALUE}.")
  int keys = 40;

  @Option(names = "--writers", description = "Writer threads. Default ${DEFAULT-VALUE}.")
  int writers = 2;

  @Option(names = "--rate", description = "Events per second. Default ${DEFAULT-VALUE}.")
  int rate = 200;

  @Option(
      names = "--idempotency-keys",
      description =
          "Idempotency keys claimed, and inbox ids recorded, per writer transaction (a purge runs"
              + " against them); 0 turns them and the purge off. Default ${DEFAULT-VALUE}.")
  int idempotencyKeys = KeyLoad.DEFAULT_PER_TRANSACTION;

  @Option(
      names = "--idempotency-ttl",
      description = "Time to live of those keys and inbox entries. Default ${DEFAULT-VALUE}.")
  Duration idempotencyTtl = KeyLoad.DEFAULT_TTL;

  @Option(
      names = "--purge-interval",
      description = "Pause between purges of expired keys. Default ${DEFAULT-VALUE}.")
  Duration purgeInterval = KeyLoad.DEFAULT_PURGE_INTERVAL;

  @Option(
      names = "--purge-batch-size",
      description = "Rows per purge statement. Default ${DEFAULT-VALUE}.")
  int purgeBatchSize = KeyLoad.DEFAULT_PURGE_BATCH_SIZE;

  @Option(names = "--cycles", description = "Fault cycles. Default ${DEFAULT-VALUE}.")
  int cycles = 10;

  @Option(
      names = "--faults",
      split = ",",
      description = "Faults to draw from. Default: all that can run here.")
  List<String> faults = Faults.names();

  @Option(names = "--seed", description = "Seed of the fault schedule. Default: random.")
  Long seed;

  @Option(names = "--settle", description = "Time between faults. Default ${DEFAULT-VALUE}.")
  Duration settle = Duration.ofSeconds(3);

  @Option(names = "--batch-size", description = "Relay batch size. Default ${DEFAULT-VALUE}.")
  int batchSize = 100;

  @Option(names = "--lease-ttl", description = "Relay lease TTL. Default ${DEFAULT-VALUE}.")
  Duration leaseTtl = Duration.ofSeconds(5);

  @Option(names = "--heartbeat", description = "Relay heartbeat. Default ${DEFAULT-VALUE}.")
  Duration heartbeat = Duration.ofMillis(500);

  @Option(names = "--drain-timeout", description = "Default ${DEFAULT-VALUE}.")
  Duration drainTimeout = Duration.ofSeconds(120);

  @Option(names = "--stuck-after", description = "Default ${DEFAULT-VALUE}.")
  Duration stuckAfter = Duration.ofSeconds(60);

  @Option(
      names = "--max-duration",
      description = "Stop injecting faults after this long. Default ${DEFAULT-VALUE}.")
  Duration maxDuration = Duration.ofHours(1);

  @Option(names = "--report", description = "Write the report as JSON here.")
  Path report;

  @Option(names = "--work-dir", description = "Relay logs. Default ${DEFAULT-VALUE}.")
  Path workDir = Path.of("target", "chaos");

  public static void main(String[] args) {
    System.exit(execute(args));
  }

  /** Runs the command and returns its exit status (for tests: no System.exit). */
  public static int execute(String... args) {
    CommandLine line = new CommandLine(new ChaosMain());
    line.registerConverter(Duration.class, ChaosMain::duration);
    return line.execute(args);
  }

  @Override
  public Integer call() throws Exception {
    ChaosConfig config;
    try {
      config = config();
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      return 2;
    }
    ChaosReport result;
    try {
      result = new ChaosRun(config, System.out, Clock.systemUTC()).run();
    } catch (Exception e) {
      e.printStackTrace(System.err);
      return 3;
    }
    System.out.print(result.toText());
    if (report != null) {
      write(result, report);
    }
    return !result.valid() ? 4 : result.passed() ? 0 : 1;
  }

  ChaosConfig config() {
    DatabaseKind kind;
    try {
      kind = DatabaseKind.valueOf(database.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "--database: expected postgresql, mariadb or mysql, was " + database);
    }
    Mode parsedMode;
    try {
      parsedMode = Mode.valueOf(mode.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--mode: expected polling or cdc, was " + mode);
    }
    Faults.named(faults);
    return new ChaosConfig(
        kind,
        parsedMode,
        jdbcUrl,
        user,
        password == null ? "" : password,
        bootstrapServers,
        relays,
        keys,
        writers,
        rate,
        new KeyLoad(idempotencyKeys, idempotencyTtl, purgeInterval, purgeBatchSize),
        cycles,
        faults,
        seed != null ? seed : new java.security.SecureRandom().nextLong(),
        settle,
        batchSize,
        leaseTtl,
        heartbeat,
        drainTimeout,
        stuckAfter,
        maxDuration,
        report,
        workDir);
  }

  static void write(ChaosReport result, Path path) throws IOException {
    JsonMapper json = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();
    Path parent = path.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    json.writeValue(path.toFile(), result);
  }

  /** {@code 500ms}, {@code 5s}, {@code 2m}, or ISO-8601 ({@code PT5S}). */
  static Duration duration(String value) {
    String v = value.trim().toLowerCase(Locale.ROOT);
    try {
      if (v.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
      }
      if (v.endsWith("s")) {
        return Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1)));
      }
      if (v.endsWith("m")) {
        return Duration.ofMinutes(Long.parseLong(v.substring(0, v.length() - 1)));
      }
      return Duration.parse(value);
    } catch (RuntimeException e) {
      throw new CommandLine.TypeConversionException(
          "expected a duration like 500ms, 5s, 2m or PT5S, was '" + value + "'");
    }
  }
}
