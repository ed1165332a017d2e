package dev.outboxkit.chaos;

import dev.outboxkit.outbox.OutboxDefaults;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.test.DatabaseKind;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One chaos run, as {@link ChaosMain} parses it from the command line.
 *
 * @param database the product of the embedded database (ignored when {@code jdbcUrl} is set)
 * @param mode polling or CDC relays
 * @param jdbcUrl the user's database, or {@code null} for an embedded one
 * @param user the user's database account
 * @param password the user's database password
 * @param bootstrapServers the user's Kafka, or {@code null} for the in-JVM broker
 * @param relays how many relay processes run at a time
 * @param keys how many aggregate ids the writers spread their events over
 * @param writers writer threads
 * @param rate events per second, all writers together
 * @param keyLoad the writers' idempotency keys and inbox entries, and the purge (see {@link
 *     KeyClaims}, {@link PurgeLoop})
 * @param cycles fault cycles
 * @param faults names of the faults to draw from (see {@link Faults})
 * @param seed the seed of the fault schedule: the same seed draws the same faults and victims
 * @param settle time between two faults, under load
 * @param batchSize the relays' batch size (the duplicate bound is stated in batches, see {@link
 *     #relayMaxBatchSize})
 * @param leaseTtl the relays' lease time-to-live
 * @param heartbeat the relays' heartbeat interval
 * @param drainTimeout how long the end of the run waits for the last events
 * @param stuckAfter a partition with events waiting and nothing published this long is stuck
 * @param maxDuration the run stops injecting faults after this long, even if cycles remain
 * @param report where to write the JSON report, or {@code null}
 * @param workDir where the relays' logs go
 */
public record ChaosConfig(
    DatabaseKind database,
    Mode mode,
    @Nullable String jdbcUrl,
    String user,
    String password,
    @Nullable String bootstrapServers,
    int relays,
    int keys,
    int writers,
    int rate,
    KeyLoad keyLoad,
    int cycles,
    List<String> faults,
    long seed,
    Duration settle,
    int batchSize,
    Duration leaseTtl,
    Duration heartbeat,
    Duration drainTimeout,
    Duration stuckAfter,
    Duration maxDuration,
    @Nullable Path report,
    Path workDir) {

  public ChaosConfig {
    Objects.requireNonNull(database, "database");
    Objects.requireNonNull(mode, "mode");
    Objects.requireNonNull(keyLoad, "keyLoad");
    faults = List.copyOf(faults);
    positive("--relays", relays);
    positive("--keys", keys);
    positive("--writers", writers);
    positive("--rate", rate);
    positive("--batch-size", batchSize);
    if (cycles < 0) {
      throw new IllegalArgumentException("--cycles must be 0 or more, was " + cycles);
    }
    if (database == DatabaseKind.H2) {
      throw new IllegalArgumentException(
          "--database: h2 has no server to fault; use postgresql," + " mariadb or mysql");
    }
    if (!heartbeat.multipliedBy(2).minus(leaseTtl).isNegative()) {
      throw new IllegalArgumentException(
          "--heartbeat must be under half of --lease-ttl, was " + heartbeat + " / " + leaseTtl);
    }
  }

  private static void positive(String option, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(option + " must be at least 1, was " + value);
    }
  }

  /** Whether the database is one this run started (and may restart). */
  public boolean embeddedDatabase() {
    return jdbcUrl == null;
  }

  /**
   * The largest batch a relay of this run reads, which the duplicate bound counts in: in polling
   * mode the relay's own rule ({@link RelayDefaults#maxBatchSize}: with the default batch size the
   * batch grows under a backlog up to {@link RelayDefaults#ADAPTIVE_MAX_BATCH_SIZE}), in CDC mode
   * the batch size (the engine's {@code max.batch.size}).
   */
  public int relayMaxBatchSize() {
    return mode == Mode.POLLING ? RelayDefaults.maxBatchSize(batchSize) : batchSize;
  }

  /**
   * The most publishing threads one relay runs: the kit starts polling relays with the default
   * thread count, which grows under a backlog (the relay's own rule, {@code
   * RelayDefaults.maxPublishThreads}); a CDC relay hands its batches over on one thread.
   */
  public int relayMaxPublishThreads() {
    return mode == Mode.POLLING
        ? RelayDefaults.maxPublishThreads(RelayDefaults.PUBLISH_THREADS, OutboxDefaults.PARTITIONS)
        : 1;
  }

  /** Whether Kafka is the in-JVM broker this run started. */
  public boolean embeddedKafka() {
    return bootstrapServers == null;
  }
}
