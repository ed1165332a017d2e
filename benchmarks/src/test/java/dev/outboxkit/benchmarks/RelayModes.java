package dev.outboxkit.benchmarks;

import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.test.DatabaseKind;
import dev.outboxkit.test.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import javax.sql.DataSource;

/**
 * How the benchmarks set up OutboxKit's CDC and fenced modes and the hand-rolled relay, in one
 * place for {@link RelayBenchmark}, {@link DrainBenchmark}'s {@link HandRolledContender} and the
 * peer harness ({@code peers.PeerBenchmark}), so that a mode measured in one is the mode measured
 * in the others.
 *
 * <p>CDC logs in with the test database's own user (a superuser on the embedded servers), so the
 * engine may create its publication ({@code autoCreate}) and replication slot; with the shipped
 * roles these would be {@code outboxkit_cdc} and {@code outboxkit_cdc_relay} (docs/roles.md).
 */
public final class RelayModes {

  private RelayModes() {}

  /**
   * The CDC options of the benchmarks' {@code cdc} mode on {@code db}: the engine (and, on
   * PostgreSQL, its replication slot) named {@code engine}, the publication and state table created
   * when missing, a heartbeat every second, the relay's defaults otherwise (rows deleted once
   * acknowledged, offsets in the state table, publication of inserts only).
   */
  public static CdcOptions.Builder cdc(TestDatabase db, String engine) {
    return CdcOptions.builder(db.jdbcUrl(), db.username(), db.password())
        .name(engine)
        .autoCreate(true)
        .heartbeatInterval(Duration.ofSeconds(1));
  }

  /**
   * Removes what CDC engines whose names start with {@code prefix} left on {@code db}'s server (on
   * PostgreSQL their inactive replication slots, which would hold WAL for the next runs).
   */
  public static void dropCdcLeftovers(TestDatabase db, String prefix) throws SQLException {
    try (Connection c = db.dataSource().getConnection()) {
      BenchDatabase.named(db.kind().key()).dropCdcLeftovers(c, prefix);
    }
  }

  /**
   * The transactional id prefix of the benchmarks' {@code polling-fenced} mode for a relay named
   * {@code engine} (unique per run, so no earlier run's producer is fenced or waited for).
   */
  public static String fencingPrefix(String engine) {
    return "outboxkit-" + engine;
  }

  /**
   * Starts {@link HandRolledRelay} on {@code dataSource}'s {@code outbox_event} ({@code kind}'s
   * {@code DELETE … RETURNING}); closing the result stops it.
   *
   * @throws IllegalArgumentException where the database has no {@code DELETE … RETURNING}
   */
  public static AutoCloseable startHandRolled(
      DataSource dataSource, DatabaseKind kind, String bootstrapServers) {
    String drain = BenchDatabase.named(kind.key()).handRolledDrain(HandRolledRelay.BATCH);
    if (drain == null) {
      throw new IllegalArgumentException(
          "hand-rolled relay: no DELETE … RETURNING on " + kind.key());
    }
    HandRolledRelay relay = new HandRolledRelay(dataSource, drain, bootstrapServers);
    relay.start();
    return relay;
  }

  /** The hand-rolled relay's batch: rows per {@code DELETE … RETURNING}. */
  public static int handRolledBatch() {
    return HandRolledRelay.BATCH;
  }
}
