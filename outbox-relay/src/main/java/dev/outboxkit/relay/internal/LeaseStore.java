package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The statements on the lease and member tables. Every change is one conditional {@code UPDATE}
 * that succeeds for exactly one instance: a claim names the epoch it saw, and the epoch grows with
 * every change of owner, so two instances can never both win a partition.
 */
public final class LeaseStore {

  /** One row of the lease table. */
  public record LeaseRow(
      int partition, @Nullable String owner, long epoch, @Nullable Instant expiresAt) {}

  private final OutboxDialect dialect;
  private final String leases;
  private final String members;

  public LeaseStore(OutboxDialect dialect, OutboxTable leases, OutboxTable members) {
    this.dialect = dialect;
    this.leases = leases.qualifiedName();
    this.members = members.qualifiedName();
  }

  /** The database server's clock: every instance judges lease expiry by this one clock. */
  public Instant now(Connection c) throws SQLException {
    return databaseNow(c, dialect);
  }

  /** The database server's clock, as {@link #now} (shared with the CDC lease). */
  public static Instant databaseNow(Connection c, OutboxDialect dialect) throws SQLException {
    try (PreparedStatement statement =
            c.prepareStatement("SELECT " + dialect.currentTimeSql() + " AS db_now");
        ResultSet rs = statement.executeQuery()) {
      rs.next();
      Instant now = dialect.getInstant(rs, "db_now");
      if (now == null) {
        throw new SQLException("The database returned no current time");
      }
      return now;
    }
  }

  /**
   * Creates the rows of partitions {@code 0..partitions-1} that are missing, and refuses a lease
   * table that was set up for more partitions: writers and relays would disagree on where a key
   * lives.
   */
  public void ensurePartitions(Connection c, int partitions) throws SQLException {
    int max = -1;
    int count = 0;
    try (PreparedStatement statement =
            c.prepareStatement("SELECT COUNT(*), MAX(partition_no) FROM " + leases);
        ResultSet rs = statement.executeQuery()) {
      if (rs.next()) {
        count = rs.getInt(1);
        max = rs.getObject(2) == null ? -1 : rs.getInt(2);
      }
    }
    if (max >= partitions) {
      throw new IllegalStateException(
          "The lease table "
              + leases
              + " holds partitions up to "
              + max
              + " but this relay is configured with "
              + partitions
              + " partitions. Relays and writers must use the same number of partitions"
              + " (outbox.store.partitions); changing it needs an empty outbox and an emptied lease"
              + " table (see docs/relay.md).");
    }
    if (count == partitions) {
      return;
    }
    try (PreparedStatement insert =
        c.prepareStatement(
            "INSERT INTO " + leases + " (partition_no, owner_id, epoch) VALUES (?, NULL, 0)")) {
      for (int p = 0; p < partitions; p++) {
        insert.setInt(1, p);
        try {
          insert.executeUpdate();
        } catch (SQLException e) {
          if (!isDuplicate(e)) {
            throw e;
          }
        }
      }
    }
  }

  /**
   * Records that {@code member} is alive until {@code expiresAt}, whether it holds its session lock
   * (others may take its partitions at once after a missed heartbeat only when it does), and the
   * state it reports for operators.
   */
  public void heartbeat(
      Connection c,
      String member,
      Instant now,
      Instant expiresAt,
      boolean sessionLock,
      Reported reported)
      throws SQLException {
    try (PreparedStatement update =
        c.prepareStatement(
            "UPDATE "
                + members
                + " SET heartbeat_at = ?, expires_at = ?, session_lock = ?, relay_state = ?,"
                + " circuit_state = ? WHERE member_id = ?")) {
      dialect.setInstant(update, 1, now);
      dialect.setInstant(update, 2, expiresAt);
      update.setBoolean(3, sessionLock);
      update.setString(4, reported.relayState());
      update.setString(5, reported.circuitState());
      update.setString(6, member);
      if (update.executeUpdate() > 0) {
        return;
      }
    }
    try (PreparedStatement insert =
        c.prepareStatement(
            "INSERT INTO "
                + members
                + " (member_id, heartbeat_at, expires_at, session_lock, relay_state, circuit_state)"
                + " VALUES (?, ?, ?, ?, ?, ?)")) {
      insert.setString(1, member);
      dialect.setInstant(insert, 2, now);
      dialect.setInstant(insert, 3, expiresAt);
      insert.setBoolean(4, sessionLock);
      insert.setString(5, reported.relayState());
      insert.setString(6, reported.circuitState());
      insert.executeUpdate();
    } catch (SQLException e) {
      if (!isDuplicate(e)) {
        throw e;
      }
    }
  }

  /**
   * What an instance reports of itself in its member row at each heartbeat, for operators (the
   * CLI's {@code status}); nothing reads it to decide anything.
   *
   * @param relayState its lifecycle state ({@code RUNNING}, {@code PAUSED}, {@code STALLED}, ...),
   *     or {@code null} when it has none to report
   * @param circuitState its broker circuit breaker's state, or {@code null}
   */
  public record Reported(@Nullable String relayState, @Nullable String circuitState) {
    /** Nothing reported. */
    public static final Reported NOTHING = new Reported(null, null);
  }

  /** Forgets expired members and returns the live ones, sorted. */
  public List<String> liveMembers(Connection c, Instant now) throws SQLException {
    try (PreparedStatement delete =
        c.prepareStatement("DELETE FROM " + members + " WHERE expires_at < ?")) {
      dialect.setInstant(delete, 1, now);
      delete.executeUpdate();
    }
    List<String> live = new ArrayList<>();
    try (PreparedStatement select =
        c.prepareStatement("SELECT member_id FROM " + members + " ORDER BY member_id")) {
      try (ResultSet rs = select.executeQuery()) {
        while (rs.next()) {
          live.add(rs.getString(1));
        }
      }
    }
    return live;
  }

  /**
   * A member row: who, when it last beat (by the database's clock), whether it held its session
   * lock then, until when it said it lives, and what it reported of itself.
   */
  public record Member(
      String id,
      @Nullable Instant heartbeatAt,
      boolean sessionLock,
      @Nullable Instant expiresAt,
      Reported reported) {}

  /** Every member with its last heartbeat. */
  public List<Member> members(Connection c) throws SQLException {
    List<Member> all = new ArrayList<>();
    try (PreparedStatement select =
            c.prepareStatement(
                "SELECT member_id, heartbeat_at, session_lock, expires_at, relay_state,"
                    + " circuit_state FROM "
                    + members
                    + " ORDER BY member_id");
        ResultSet rs = select.executeQuery()) {
      while (rs.next()) {
        all.add(
            new Member(
                rs.getString(1),
                dialect.getInstant(rs, "heartbeat_at"),
                rs.getBoolean("session_lock"),
                dialect.getInstant(rs, "expires_at"),
                new Reported(rs.getString("relay_state"), rs.getString("circuit_state"))));
      }
    }
    return all;
  }

  /** Removes a member found dead; its leases are taken with {@link #claimFrom}. */
  public void removeMember(Connection c, String member) throws SQLException {
    try (PreparedStatement delete =
        c.prepareStatement("DELETE FROM " + members + " WHERE member_id = ?")) {
      delete.setString(1, member);
      delete.executeUpdate();
    }
  }

  /**
   * Takes a partition from an owner found dead (its session lock is free and it missed a
   * heartbeat), if that owner still holds it with the epoch the caller saw and has not renewed it
   * since ({@code expires_at} no later than the caller saw): an owner that was only slow, and
   * renewed between the check and the claim, keeps its partition.
   */
  public boolean claimFrom(
      Connection c,
      int partition,
      long seenEpoch,
      @Nullable Instant seenExpiresAt,
      String dead,
      String member,
      Instant expiresAt)
      throws SQLException {
    try (PreparedStatement statement =
        c.prepareStatement(
            "UPDATE "
                + leases
                + " SET owner_id = ?, epoch = epoch + 1, expires_at = ?"
                + " WHERE partition_no = ? AND epoch = ? AND owner_id = ?"
                + (seenExpiresAt == null
                    ? " AND expires_at IS NULL"
                    : " AND (expires_at IS NULL OR expires_at <= ?)"))) {
      statement.setString(1, member);
      dialect.setInstant(statement, 2, expiresAt);
      statement.setInt(3, partition);
      statement.setLong(4, seenEpoch);
      statement.setString(5, dead);
      if (seenExpiresAt != null) {
        dialect.setInstant(statement, 6, seenExpiresAt);
      }
      return statement.executeUpdate() == 1;
    }
  }

  /** Extends every lease {@code member} holds. */
  public void renew(Connection c, String member, Instant expiresAt) throws SQLException {
    try (PreparedStatement statement =
        c.prepareStatement("UPDATE " + leases + " SET expires_at = ? WHERE owner_id = ?")) {
      dialect.setInstant(statement, 1, expiresAt);
      statement.setString(2, member);
      statement.executeUpdate();
    }
  }

  /** Every lease, by partition. */
  public List<LeaseRow> all(Connection c) throws SQLException {
    List<LeaseRow> rows = new ArrayList<>();
    try (PreparedStatement statement =
            c.prepareStatement(
                "SELECT partition_no, owner_id, epoch, expires_at FROM "
                    + leases
                    + " ORDER BY partition_no");
        ResultSet rs = statement.executeQuery()) {
      while (rs.next()) {
        rows.add(
            new LeaseRow(
                rs.getInt(1),
                rs.getString(2),
                rs.getLong(3),
                dialect.getInstant(rs, "expires_at")));
      }
    }
    return rows;
  }

  /**
   * Takes a partition that is free or expired and still has the epoch the caller saw.
   *
   * @return whether this instance now owns it, with epoch {@code seenEpoch + 1}
   */
  public boolean claim(
      Connection c, int partition, long seenEpoch, String member, Instant now, Instant expiresAt)
      throws SQLException {
    try (PreparedStatement statement =
        c.prepareStatement(
            "UPDATE "
                + leases
                + " SET owner_id = ?, epoch = epoch + 1, expires_at = ?"
                + " WHERE partition_no = ? AND epoch = ?"
                + " AND (owner_id IS NULL OR expires_at IS NULL OR expires_at < ?)")) {
      statement.setString(1, member);
      dialect.setInstant(statement, 2, expiresAt);
      statement.setInt(3, partition);
      statement.setLong(4, seenEpoch);
      dialect.setInstant(statement, 5, now);
      return statement.executeUpdate() == 1;
    }
  }

  /** Gives a partition up, if this instance still holds it with that epoch. */
  public boolean release(Connection c, int partition, long epoch, String member)
      throws SQLException {
    try (PreparedStatement statement =
        c.prepareStatement(
            "UPDATE "
                + leases
                + " SET owner_id = NULL, expires_at = NULL"
                + " WHERE partition_no = ? AND epoch = ? AND owner_id = ?")) {
      statement.setInt(1, partition);
      statement.setLong(2, epoch);
      statement.setString(3, member);
      return statement.executeUpdate() == 1;
    }
  }

  /** Releases every lease of {@code member} and removes it from the members. */
  public void leave(Connection c, String member) throws SQLException {
    try (PreparedStatement statement =
        c.prepareStatement(
            "UPDATE " + leases + " SET owner_id = NULL, expires_at = NULL WHERE owner_id = ?")) {
      statement.setString(1, member);
      statement.executeUpdate();
    }
    try (PreparedStatement statement =
        c.prepareStatement("DELETE FROM " + members + " WHERE member_id = ?")) {
      statement.setString(1, member);
      statement.executeUpdate();
    }
  }

  private static boolean isDuplicate(SQLException e) {
    String state = e.getSQLState();
    return state != null && state.startsWith("23");
  }
}
