package dev.outboxkit.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.MutableClock;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class MariaDbIdempotencyIntegrationTests extends MySqlFamilyIdempotencyContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mariadb();

  @Override
  public TestDatabaseExtension db() {
    return db;
  }

  @Override
  int roundTripsOfAnExecutedCall() {
    return 3;
  }

  /**
   * MariaDB 11.6.2 turned {@code innodb_snapshot_isolation} on by default: under {@code REPEATABLE
   * READ}, a locking read of a row changed since the transaction's read view was opened fails with
   * error 1020 ("Record has changed since last read"). The purge's plain read of its candidates
   * opened that read view when it ran inside the purge's transaction, so a candidate renewed by an
   * application between the two reads failed the whole batch. The plain read now runs before the
   * transaction begins: the locking read has no read view to check against, and the renewed row no
   * longer matches {@code expires_at < ?} and is left. (11.4, which the tests run, has the variable
   * off by default; the purge's connections turn it on here.)
   */
  @Test
  void aPurgeUnderSnapshotIsolationLeavesARowRenewedSinceItsPlainRead() throws Exception {
    // An application renews one candidate and commits before the purge's (only) locking read.
    purgeRenewingBeforeLockingRead(20, "old-0007", 1);
  }

  /**
   * review18: the same, with more candidates than one locking read takes ({@code KEYS_PER_DELETE} =
   * 500). The plain read now runs before the transaction, but the transaction's first locking read
   * (keys 1-500) still opens its read view under {@code innodb_snapshot_isolation}; a candidate of
   * the second locking read (keys 501-1,000) that an application renews and commits in between is
   * then a row changed since the read view, and the whole batch fails with error 1020 instead of
   * leaving that one row.
   */
  @Test
  void aPurgeUnderSnapshotIsolationLeavesARowRenewedBetweenItsTwoLockingReads() throws Exception {
    // Between the first and the second locking read of the same batch, an application renews one
    // candidate of the second and commits.
    purgeRenewingBeforeLockingRead(800, "old-0700", 2);
  }

  /**
   * Fills the key table with {@code entries} expired keys and purges them in one batch through
   * connections under {@code innodb_snapshot_isolation}, while an application renews {@code
   * renewedKey} (on its own connection, committed) just before the purge prepares its locking read
   * number {@code lockingRead}; checks that the purge deleted every other key and left that one.
   */
  private static void purgeRenewingBeforeLockingRead(
      int entries, String renewedKey, int lockingRead) throws Exception {
    MutableClock clock = new MutableClock();
    OutboxDialect dialect =
        PurgeFixture.fillWithExpired(db.dataSource(), PurgeFixture.KEYS, entries, clock.instant());
    clock.advance(Duration.ofMinutes(2));
    AtomicInteger lockingReads = new AtomicInteger();
    AtomicBoolean renewed = new AtomicBoolean();
    DataSource snapshotIsolated =
        PurgeFixture.wrappingConnections(
            db.dataSource(),
            connection -> {
              try (Statement s = connection.createStatement()) {
                s.execute("SET SESSION innodb_snapshot_isolation = ON");
              }
              return (method, args) -> {
                if (PurgeFixture.preparesLockingRead(method, args)
                    && lockingReads.incrementAndGet() == lockingRead
                    && renewed.compareAndSet(false, true)) {
                  try (Connection other = db.dataSource().getConnection();
                      PreparedStatement renew =
                          other.prepareStatement(
                              "UPDATE idempotency_key SET expires_at = ?"
                                  + " WHERE scope = 'client-1' AND idem_key = ?")) {
                    dialect.setInstant(renew, 1, clock.instant().plusSeconds(600));
                    renew.setString(2, renewedKey);
                    assertThat(renew.executeUpdate()).isEqualTo(1);
                  }
                }
              };
            });
    IdempotencyPurger purger = PurgeFixture.purger(snapshotIsolated, dialect, 1_000, 1, clock);
    int purged = purger.purgeExpired();
    assertThat(renewed).isTrue();
    assertThat(purged).isEqualTo(entries - 1);
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT idem_key FROM idempotency_key")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString(1)).isEqualTo(renewedKey);
      assertThat(rs.next()).isFalse();
    }
  }
}
