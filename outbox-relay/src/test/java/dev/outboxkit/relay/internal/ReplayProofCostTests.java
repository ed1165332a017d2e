package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.AuditSchema;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.Arrays;
import java.util.UUID;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

/**
 * Review10: the cost of {@link JdbcAuditTrail#provesReplayed}, which the CDC relay asks for every
 * event it parks that has no row at all. With writers that delete their rows in their transaction
 * (a supported CDC mode, docs/cdc.md) that is every parked event, not a rare case; the audit trail
 * is append-only, kept for at least 12 months (docs/security.md), and gains a record with every
 * listing of parked events. The look-up filters on {@code operation}, {@code outcome} and {@code
 * target LIKE '%id%'}, none of which has an index: each park reads the whole trail, on the engine
 * thread, one event after the other, while the stream of every key waits.
 */
class ReplayProofCostTests {

  /** An audit trail after about a year of a dashboard listing parked events every minute. */
  private static final int RECORDS = 500_000;

  @Test
  @Disabled(
      "review10 finding 1: each park of an event without a row reads the whole audit trail."
          + " Fails on b8bbbee (H2 in memory, 500,000 records): [median time of one replay proof"
          + " over 500,000 audit records, in ms] Expecting actual: 68L to be less than or equal to:"
          + " 10L (four runs: 68, 77, 201 and 53 ms; with 1,000,000 records 130-180 ms a proof)")
  void aReplayProofDoesNotReadTheWholeAuditTrail() throws Exception {
    JdbcDataSource ds = new JdbcDataSource();
    ds.setURL("jdbc:h2:mem:review10-proof-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
    OutboxTable audit = AuditSchema.table(OutboxTable.DEFAULT);
    OutboxDialect dialect;
    try (Connection c = ds.getConnection()) {
      dialect = OutboxDialect.detect(c);
      c.setAutoCommit(true);
      AuditSchema.create(c, dialect, audit);
      c.setAutoCommit(false);
      try (PreparedStatement insert =
          c.prepareStatement(
              "INSERT INTO "
                  + audit.qualifiedName()
                  + " (occurred_at, principal, operation, target, item_count, outcome)"
                  + " VALUES (?, 'dashboard', ?, ?, ?, 'OK')")) {
        Timestamp at = Timestamp.from(Instant.parse("2026-01-01T00:00:00Z"));
        for (int i = 0; i < RECORDS; i++) {
          insert.setTimestamp(1, at);
          if (i % 50 == 0) {
            // Now and then a replay of a group's batch of 100 events.
            StringBuilder ids = new StringBuilder("group=3f1c9a0e52d7: ids=");
            for (int k = 0; k < 100; k++) {
              ids.append(k == 0 ? "" : ",").append(UUID.randomUUID());
            }
            insert.setString(2, "REPLAY");
            insert.setString(3, ids.toString());
            insert.setInt(4, 100);
          } else {
            insert.setString(2, "LIST");
            insert.setString(3, "limit=100");
            insert.setInt(4, 3);
          }
          insert.addBatch();
          if (i % 10_000 == 9_999) {
            insert.executeBatch();
            c.commit();
          }
        }
        insert.executeBatch();
        c.commit();
      }
    }
    JdbcAuditTrail trail = new JdbcAuditTrail(new Jdbc(ds), dialect, audit, Clock.systemUTC());
    long[] millis = new long[21];
    try (Connection c = ds.getConnection()) {
      trail.provesReplayed(c, UUID.randomUUID()); // warm-up
      for (int i = 0; i < millis.length; i++) {
        long started = System.nanoTime();
        // An event its writer deleted, parked from its change: no replay names it.
        assertThat(trail.provesReplayed(c, UUID.randomUUID())).isFalse();
        millis[i] = (System.nanoTime() - started) / 1_000_000;
      }
    }
    Arrays.sort(millis);
    // A poison burst of 1,000 such events stalls the stream for 1,000 times this.
    assertThat(millis[millis.length / 2])
        .as("median time of one replay proof over %,d audit records, in ms", RECORDS)
        .isLessThanOrEqualTo(10L);
  }
}
