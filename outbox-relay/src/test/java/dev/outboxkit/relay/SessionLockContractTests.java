package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.internal.SessionLock;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * The session lock behind fast takeover, on direct connections of each database: it stays held
 * across heartbeats and is never taken for a pooler's (a false alarm would turn fast takeover off
 * for good), and another owner's lock reads as gone exactly when its session ended. One subclass
 * per database.
 */
@ServerTest
@Isolated
abstract class SessionLockContractTests {

  abstract TestDatabaseExtension database();

  private OutboxDialect dialect() throws SQLException {
    try (Connection c = database().dataSource().getConnection()) {
      return OutboxDialect.detect(c);
    }
  }

  /** Fixed owners, so the PostgreSQL keys below are the same in every run. */
  private static List<String> owners() {
    List<String> owners = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      owners.add("relay-" + i + "~0badf00d");
    }
    return owners;
  }

  @Test
  void aLockOnADirectConnectionStaysHeldAndIsNeverTakenForAPoolersSession() throws Exception {
    OutboxDialect dialect = dialect();
    // One at a time: each lock keeps a connection of the test's small pool.
    for (String owner : owners()) {
      try (SessionLock lock = SessionLock.of(database().dataSource(), dialect, owner)) {
        for (int beat = 0; beat < 3; beat++) {
          assertThat(lock.ensureHeld()).as("%s, heartbeat %d", owner, beat).isTrue();
        }
        assertThat(lock.pooled()).as(owner).isFalse();
      }
    }
    if (dialect.name().equals("postgresql")) {
      // The held check decodes pg_locks' (classid, objid) halves of the 64-bit key: these owners
      // cover negative and positive keys and low halves with the top bit set.
      List<Long> keys = new ArrayList<>();
      try (Connection c = database().dataSource().getConnection();
          PreparedStatement s = c.prepareStatement("SELECT hashtextextended(?, 0)")) {
        for (String owner : owners()) {
          s.setString(1, SessionLock.lockName(owner));
          try (ResultSet rs = s.executeQuery()) {
            rs.next();
            keys.add(rs.getLong(1));
          }
        }
      }
      assertThat(keys).anyMatch(k -> k < 0).anyMatch(k -> k > 0);
      assertThat(keys)
          .anyMatch(k -> (k & 0x8000_0000L) != 0)
          .anyMatch(k -> (k & 0x8000_0000L) == 0);
    }
  }

  @Test
  void anotherOwnersLockIsGoneExactlyWhenItsSessionEnded() throws Exception {
    OutboxDialect dialect = dialect();
    String a = "lock-a~" + System.nanoTime();
    String b = "lock-b~" + System.nanoTime();
    try (SessionLock first = SessionLock.of(database().dataSource(), dialect, a);
        SessionLock second = SessionLock.of(database().dataSource(), dialect, b)) {
      assertThat(first.ensureHeld()).isTrue();
      assertThat(second.ensureHeld()).isTrue();
      for (int i = 0; i < 3; i++) {
        assertThat(second.isGone(a)).isFalse();
        assertThat(first.isGone(b)).isFalse();
      }
      assertThat(second.isGone("never-started~1")).isTrue();
      first.close();
      assertThat(second.isGone(a)).isTrue();
      assertThat(second.ensureHeld()).isTrue();
      assertThat(second.pooled()).isFalse();
    }
  }
}
