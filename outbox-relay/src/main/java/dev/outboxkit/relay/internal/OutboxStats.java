package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayInspection;
import dev.outboxkit.relay.internal.dialect.RelaySql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The relay's statements over the whole outbox table that are off the publishing path: the backlog
 * and oldest pending event for the gauges, the highest partition in use at start-up, and purging
 * rows kept as {@code PUBLISHED}. They run on the housekeeping thread (or once at start), so a slow
 * count over millions of pending rows never delays a heartbeat or a send. {@link OutboxRows} holds
 * the statements the publishing thread runs.
 */
public final class OutboxStats {

  private final OutboxDialect dialect;
  private final RelaySql sql;
  private final String t;
  private final OutboxTable table;
  private boolean seqIndexSeen;

  /**
   * @throws IllegalArgumentException for a dialect without the relay's SQL, naming what it lacks
   */
  public OutboxStats(OutboxDialect dialect, OutboxTable table) {
    this.dialect = dialect;
    this.sql = RelaySql.of(dialect);
    this.t = table.qualifiedName();
    this.table = table;
  }

  /** The highest partition of a pending event, or -1 when none is pending. */
  public int maxPendingPartition(Connection c) throws SQLException {
    try (PreparedStatement statement =
            c.prepareStatement("SELECT MAX(partition_no) FROM " + t + " WHERE status = 'PENDING'");
        ResultSet rs = statement.executeQuery()) {
      return rs.next() && rs.getObject(1) != null ? rs.getInt(1) : -1;
    }
  }

  /** Pending events in the whole outbox and the creation time of the oldest. */
  public record Stats(long backlog, @Nullable Instant oldest) {}

  /**
   * {@link Stats} without visiting every pending row: the oldest event is the first by {@code seq},
   * and the count is exact up to {@link #BACKLOG_COUNT_LIMIT} and estimated above it as in {@link
   * #backlog}. {@code seq} and {@code created_at} are set together at append, so this is the oldest
   * up to clock skew between writers; {@code MIN(created_at)} instead read the whole backlog every
   * metrics interval.
   *
   * <p>Finding the first pending row walks every index entry of the rows deleted before it that
   * vacuum has not removed yet: during a drain of a large backlog, millions, and with a snapshot
   * held elsewhere (a long query, a forgotten {@code BEGIN}) every row published since. On
   * PostgreSQL ({@link #probesInSeqOrder}) it is found once, by one walk of the pending rows' index
   * in {@code seq} order, and the count starts there; elsewhere per partition, after a count from
   * the head. (It was found per partition, each partition's probe walking its share; a probe
   * planned on the {@code seq} index with a filter on the partition walked every partition's share,
   * and the count walked them all again from the head: in a drain of 10 M a measurement took up to
   * 23 s.) A row that commits after the probe with a lower {@code seq} is counted by the next
   * measurement.
   */
  public Stats stats(Connection c) throws SQLException {
    return stats(c, BACKLOG_COUNT_LIMIT);
  }

  /** {@link #stats(Connection)} with another count limit (for tests). */
  Stats stats(Connection c, int countLimit) throws SQLException {
    if (!probesInSeqOrder(c)) {
      return statsByPartition(c, countLimit);
    }
    Ends ends = ends(c);
    if (ends.span() == 0) {
      return new Stats(0, null);
    }
    long counted = count(c, countLimit, ends.low());
    if (counted == 0) {
      return new Stats(0, null); // published since the probe
    }
    long backlog = counted >= countLimit ? Math.max(counted, ends.span()) : counted;
    return new Stats(backlog, ends.oldest());
  }

  /**
   * Where the dialect's planner walks the version-8 index from the first pending entry for {@code
   * ORDER BY seq LIMIT 1} (PostgreSQL, {@link RelaySql#probesPendingEndsInSeqOrder}), and the
   * catalog lists that index. Otherwise (MySQL 8 plans that probe over the primary key, through
   * every row kept as {@code PUBLISHED} at the head; without version 8 no index has that order) the
   * first rows are found per partition through the version-1 index. Asked until the index is seen,
   * since a rolling upgrade may add it after the relay started.
   */
  private boolean probesInSeqOrder(Connection c) throws SQLException {
    if (!sql.probesPendingEndsInSeqOrder()) {
      return false;
    }
    if (!seqIndexSeen) {
      seqIndexSeen = sql.hasPendingSeqIndex(c, table);
    }
    return seqIndexSeen;
  }

  /**
   * {@link #stats} by a count from the head, then the first and last pending rows of each partition
   * that may have any: the way for dialects without {@link #probesInSeqOrder}.
   */
  private Stats statsByPartition(Connection c, int countLimit) throws SQLException {
    long counted = count(c, countLimit, null);
    if (counted == 0) {
      return new Stats(0, null);
    }
    Ends ends = ends(c, maxPendingPartition(c) + 1);
    long backlog = counted >= countLimit ? Math.max(counted, ends.span()) : counted;
    return new Stats(backlog, ends.oldest());
  }

  /** The lowest and the highest pending {@code seq}, and the lowest one's creation time. */
  private record Ends(long low, long high, @Nullable Instant oldest) {
    long span() {
      return low > high ? 0 : high - low + 1;
    }
  }

  /** {@link Ends} by two probes of the pending rows' {@code seq} index, one at each end. */
  private Ends ends(Connection c) throws SQLException {
    try (PreparedStatement statement =
            c.prepareStatement(
                "SELECT MIN(CASE WHEN last_row = 0 THEN seq END) AS low, MAX(seq) AS high,"
                    + " MIN(CASE WHEN last_row = 0 THEN created_at END) AS oldest FROM ((SELECT 0"
                    + " AS last_row, seq, created_at FROM "
                    + t
                    + " WHERE status = 'PENDING' ORDER BY seq LIMIT 1) UNION ALL (SELECT 1, seq,"
                    + " NULL FROM "
                    + t
                    + " WHERE status = 'PENDING' ORDER BY seq DESC LIMIT 1)) ends");
        ResultSet rs = statement.executeQuery()) {
      if (!rs.next() || rs.getObject("low") == null) {
        return new Ends(Long.MAX_VALUE, Long.MIN_VALUE, null);
      }
      return new Ends(rs.getLong("low"), rs.getLong("high"), dialect.getInstant(rs, "oldest"));
    }
  }

  /** {@link Ends} by two probes per partition, {@value #PROBES_PER_STATEMENT} per statement. */
  private Ends ends(Connection c, int partitions) throws SQLException {
    long low = Long.MAX_VALUE;
    long high = Long.MIN_VALUE;
    Instant oldest = null;
    for (int from = 0; from < partitions; from += PROBES_PER_STATEMENT) {
      int to = Math.min(partitions, from + PROBES_PER_STATEMENT);
      StringBuilder sql =
          new StringBuilder(
              "SELECT MIN(CASE WHEN last_row = 0 THEN seq END) AS low, MAX(seq) AS high,"
                  + " MIN(CASE WHEN last_row = 0 THEN created_at END) AS oldest FROM (");
      for (int p = from; p < to; p++) {
        for (int last = 0; last < 2; last++) {
          // The last row's probe reads the index only (its created_at is not needed).
          sql.append(p == from && last == 0 ? "" : " UNION ALL ")
              .append("(SELECT ")
              .append(last)
              .append(last == 0 ? " AS last_row, seq, created_at FROM " : ", seq, NULL FROM ")
              .append(t)
              .append(" WHERE status = 'PENDING' AND partition_no = ? ORDER BY seq")
              .append(last == 1 ? " DESC" : "")
              .append(" LIMIT 1)");
        }
      }
      sql.append(") ends");
      try (PreparedStatement statement = c.prepareStatement(sql.toString())) {
        int index = 1;
        for (int p = from; p < to; p++) {
          statement.setInt(index++, p);
          statement.setInt(index++, p);
        }
        try (ResultSet rs = statement.executeQuery()) {
          if (rs.next() && rs.getObject("low") != null) {
            low = Math.min(low, rs.getLong("low"));
            high = Math.max(high, rs.getLong("high"));
            Instant first = dialect.getInstant(rs, "oldest");
            if (first != null && (oldest == null || first.isBefore(oldest))) {
              oldest = first;
            }
          }
        }
      }
    }
    return new Ends(low, high, oldest);
  }

  private static final int PROBES_PER_STATEMENT = 128;

  /** The most parked events {@link #parked} counts; more read as this many. */
  public static final int PARKED_COUNT_LIMIT = 100_000;

  /**
   * Parked events and the creation time of the oldest of them.
   *
   * @param count parked events, at most {@link #PARKED_COUNT_LIMIT}
   * @param oldest the oldest one's creation time (of those counted), or {@code null} when none
   */
  public record Parked(long count, @Nullable Instant oldest) {}

  /**
   * {@link Parked} in one bounded statement: it reads at most {@link #PARKED_COUNT_LIMIT} parked
   * rows, through the index that leads with {@code status} (MySQL, MariaDB, H2) or on PostgreSQL
   * the partial index of parked rows of schema version 13 ({@code (seq, created_at) WHERE status =
   * 'DEAD'}, read alone), so a table of millions of published or pending rows is never read for it.
   * Without that index (PostgreSQL before version 13, whose pending indexes are partial) it reads
   * the whole table when fewer rows are parked than the limit: 7.5 s on average at a 10 M backlog.
   * The relay runs it once a minute, not every metrics interval. When the limit is reached the
   * oldest is that of the rows read, a lower bound of the true age.
   */
  public Parked parked(Connection c) throws SQLException {
    try (PreparedStatement statement = c.prepareStatement(parkedSql())) {
      statement.setInt(1, PARKED_COUNT_LIMIT);
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        return new Parked(rs.getLong("parked"), dialect.getInstant(rs, "oldest"));
      }
    }
  }

  /** The statement of {@link #parked}; its one bind is the limit (for plan tests). */
  String parkedSql() {
    return "SELECT COUNT(*) AS parked, MIN(created_at) AS oldest FROM (SELECT created_at FROM "
        + t
        + " WHERE status = 'DEAD' LIMIT ?) parked_rows";
  }

  /** Pending rows counted one by one at most; above, the backlog is estimated. */
  public static final int BACKLOG_COUNT_LIMIT = 100_000;

  /**
   * The number of pending rows (also CDC's backlog; its lag comes from the stream), exact up to
   * {@link #BACKLOG_COUNT_LIMIT}. Above, it is the span of {@code seq} between the lowest and the
   * highest pending row (a probe at each end of the pending rows' {@code seq} index): an upper
   * bound, exact while pending rows are consecutive, as in a backlog that builds up during a broker
   * outage. A full {@code COUNT(*)} of ten million pending rows every metrics interval read the
   * whole pending index (and waited on I/O) while the relay drained.
   */
  public long backlog(Connection c) throws SQLException {
    return backlog(c, BACKLOG_COUNT_LIMIT);
  }

  /** {@link #backlog(Connection)} with another count limit (for tests). */
  long backlog(Connection c, int countLimit) throws SQLException {
    return stats(c, countLimit).backlog();
  }

  /**
   * Pending rows from {@code fromSeq} on (from the head when {@code null}), up to {@code limit}.
   */
  private long count(Connection c, int limit, @Nullable Long fromSeq) throws SQLException {
    try (PreparedStatement statement =
        c.prepareStatement(
            "SELECT COUNT(*) FROM (SELECT 1 FROM "
                + t
                + " WHERE status = 'PENDING'"
                + (fromSeq == null ? "" : " AND seq >= ?")
                + " LIMIT ?) pending_rows")) {
      int index = 1;
      if (fromSeq != null) {
        statement.setLong(index++, fromSeq);
      }
      statement.setInt(index, limit);
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /**
   * The pending events of each partition that has any, by partition: count, those that failed at
   * least once, the oldest, the most attempts and the latest next attempt. For the operator CLI
   * ({@code pending}); one grouped read of the pending rows, never on the publishing path.
   */
  public List<RelayInspection.PartitionBacklog> byPartition(Connection c) throws SQLException {
    List<RelayInspection.PartitionBacklog> rows = new ArrayList<>();
    try (PreparedStatement statement =
            c.prepareStatement(
                "SELECT partition_no, COUNT(*) AS pending,"
                    + " SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS failing,"
                    + " MIN(created_at) AS oldest, MAX(attempts) AS max_attempts,"
                    + " MAX(next_attempt_at) AS next_attempt FROM "
                    + t
                    + " WHERE status = 'PENDING' GROUP BY partition_no ORDER BY partition_no");
        ResultSet rs = statement.executeQuery()) {
      while (rs.next()) {
        rows.add(
            new RelayInspection.PartitionBacklog(
                rs.getInt("partition_no"),
                rs.getLong("pending"),
                rs.getLong("failing"),
                dialect.getInstant(rs, "oldest"),
                rs.getInt("max_attempts"),
                dialect.getInstant(rs, "next_attempt")));
      }
    }
    return rows;
  }

  /**
   * At most {@code limit} pending events that match, oldest (lowest {@code seq}) first, without
   * their payload or headers. For the operator CLI ({@code pending list}).
   */
  public List<RelayInspection.Pending> pending(
      Connection c, RelayInspection.PendingFilter filter, int limit) throws SQLException {
    StringBuilder sql =
        new StringBuilder(
            "SELECT seq, id, aggregatetype, aggregateid, type, partition_no, created_at, attempts,"
                + " next_attempt_at, last_error FROM ");
    sql.append(t).append(" WHERE status = 'PENDING'");
    List<Object> args = new ArrayList<>();
    if (filter.partition() != null) {
      sql.append(" AND partition_no = ?");
      args.add(filter.partition());
    }
    if (filter.eventType() != null) {
      sql.append(" AND type = ?");
      args.add(filter.eventType());
    }
    if (filter.aggregateType() != null) {
      sql.append(" AND aggregatetype = ?");
      args.add(filter.aggregateType());
    }
    if (filter.failingOnly()) {
      sql.append(" AND attempts > 0");
    }
    sql.append(" ORDER BY seq");
    List<RelayInspection.Pending> events = new ArrayList<>();
    try (PreparedStatement statement = c.prepareStatement(sql.toString())) {
      for (int i = 0; i < args.size(); i++) {
        statement.setObject(i + 1, args.get(i));
      }
      statement.setMaxRows(limit);
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next() && events.size() < limit) {
          events.add(
              new RelayInspection.Pending(
                  rs.getLong("seq"),
                  dialect.getUuid(rs, "id"),
                  rs.getString("aggregatetype"),
                  rs.getString("aggregateid"),
                  rs.getString("type"),
                  rs.getInt("partition_no"),
                  Objects.requireNonNull(dialect.getInstant(rs, "created_at")),
                  rs.getInt("attempts"),
                  dialect.getInstant(rs, "next_attempt_at"),
                  rs.getString("last_error")));
        }
      }
    }
    return events;
  }

  /** Deletes up to {@code limit} rows published before {@code before}; returns how many. */
  public int purgePublished(Connection c, Instant before, int limit) throws SQLException {
    if (!sql.purgesPublishedByPrimaryKey()) {
      try (PreparedStatement statement = c.prepareStatement(sql.deletePublished(t))) {
        dialect.setInstant(statement, 1, before);
        statement.setInt(2, limit);
        return statement.executeUpdate();
      }
    }
    // The rows are chosen by a plain read (no locks), then deleted by primary key with the
    // condition checked again: no range of the table is locked, so no writer waits.
    List<Long> seqs = new java.util.ArrayList<>();
    try (PreparedStatement select =
        c.prepareStatement(
            "SELECT seq FROM "
                + t
                + " WHERE status = 'PUBLISHED' AND published_at < ? ORDER BY seq LIMIT ?")) {
      dialect.setInstant(select, 1, before);
      select.setInt(2, limit);
      try (java.sql.ResultSet rs = select.executeQuery()) {
        while (rs.next()) {
          seqs.add(rs.getLong(1));
        }
      }
    }
    // In statements of at most OutboxRows.CHUNK seqs: MariaDB turns an IN list of 1,000 values or
    // more (in_predicate_conversion_threshold) into a subquery over a derived table, and the delete
    // into a scan of the whole table that locks every row and the gap new rows go into (review15:
    // a writer waited for a full batch of 1,000; EXPLAIN type=ALL against range with 999).
    int deleted = 0;
    for (int from = 0; from < seqs.size(); from += OutboxRows.CHUNK) {
      List<Long> chunk = seqs.subList(from, Math.min(seqs.size(), from + OutboxRows.CHUNK));
      try (PreparedStatement delete =
          c.prepareStatement(
              sql.deleteBySeq(t)
                  + " WHERE status = 'PUBLISHED' AND published_at < ? AND seq IN ("
                  + String.join(", ", java.util.Collections.nCopies(chunk.size(), "?"))
                  + ")")) {
        dialect.setInstant(delete, 1, before);
        int index = 2;
        for (long seq : chunk) {
          delete.setLong(index++, seq);
        }
        deleted += delete.executeUpdate();
      }
    }
    return deleted;
  }
}
