package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.OutboxColumns;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.internal.dialect.RelaySql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The relay's statements on the outbox table. Pending events are read oldest first over all the
 * partitions of a read in one walk of the pending rows in {@code seq} order (the index of schema
 * version 8); only a read that pages past held keys reads partition by partition (through the
 * pending index of version 1, each partition in {@code seq} order, combined with {@code UNION
 * ALL}), since its position is per partition. Rows are marked in bulk, one statement per chunk of
 * {@value #CHUNK} rows, or where the database binds arrays ({@link RelaySql#bindsArrays}) one
 * statement of constant text per batch.
 */
public final class OutboxRows {

  static final int CHUNK = 500;

  /**
   * Bind parameters one read uses at most, well below PostgreSQL's and MySQL's limit of 65,535.
   * What a read must bind (two or three per partition, the {@code seq}s in flight: at most 4,096 ×
   * 3 + 10,000) always fits; the keys left out are cut to share the rest, since leaving a held key
   * out in SQL only saves reading it (held keys read anyway are filtered in memory).
   */
  static final int MAX_BINDS = 30_000;

  /** Bytes counted per row besides payload and headers. */
  static final int ROW_OVERHEAD = 256;

  /**
   * A row's size against the byte budget: its payload and headers as stored, plus what the rest of
   * the row and the event object take.
   */
  private static final String ROW_BYTES =
      "COALESCE(OCTET_LENGTH(payload), 0) + COALESCE(OCTET_LENGTH(headers), 0) + " + ROW_OVERHEAD;

  /** An event's size as {@link #ROW_BYTES} counts it, near enough, for a batch in memory. */
  public static long bytes(PendingEvent event) {
    byte[] payload = event.event().payload();
    long size = ROW_OVERHEAD + (payload == null ? 0 : payload.length);
    for (Map.Entry<String, String> header : event.event().headers().entrySet()) {
      size += header.getKey().length() + header.getValue().length() + 6;
    }
    return size;
  }

  private static final String COLUMNS =
      "seq, id, aggregatetype, aggregateid, type, payload, headers, tenant, created_at,"
          + " partition_no, attempts, next_attempt_at";

  private final OutboxDialect dialect;
  private final String t;

  /** The database's statement shapes. */
  private final RelaySql relaySql;

  /** Lists bound as one array each (see {@link RelaySql#bindsArrays}). */
  private final boolean arrays;

  /**
   * @throws IllegalArgumentException for a dialect without the relay's SQL, naming what it lacks
   */
  public OutboxRows(OutboxDialect dialect, OutboxTable table) {
    this.dialect = dialect;
    this.t = table.qualifiedName();
    this.relaySql = RelaySql.of(dialect);
    this.arrays = relaySql.bindsArrays();
  }

  public OutboxDialect dialect() {
    return dialect;
  }

  /**
   * What one poll read: rows of every partition, whether any partition has more, rows that could
   * not be turned into an event (broken headers JSON, a malformed id), to be parked, the partitions
   * whose page ended (by the row limit or the byte budget), and whether the byte budget cut the
   * read short (partitions without a row in it were then not read at all).
   */
  public record Fetched(
      List<PendingEvent> rows,
      boolean more,
      List<Undecodable> undecodable,
      java.util.Set<Integer> fullPartitions,
      boolean cutByBytes) {
    public Fetched(List<PendingEvent> rows, java.util.Set<Integer> fullPartitions) {
      this(rows, !fullPartitions.isEmpty(), List.of(), fullPartitions, false);
    }
  }

  /**
   * A read position ({@code after} of {@link #fetch}) that asks for the partition's own page from
   * its start, with no read-past condition: for a partition whose held keys a read cannot all leave
   * out in SQL, so that its unsendable rows fill only its own page, not a read over all partitions.
   */
  public static final long OWN_PAGE = Long.MIN_VALUE;

  /** A pending row whose columns do not make an event. */
  public record Undecodable(long seq, @Nullable String aggregateId, String error) {}

  /**
   * Reads the oldest pending rows of the partitions: without a read-past position ({@link
   * #OWN_PAGE} is one) and when SQL can leave out every given key, up to {@code perPartition} × the
   * number of partitions over all of them in {@code seq} order ({@code fetchInSeqOrder}); otherwise
   * up to {@code perPartition} of each partition, leaving out the given aggregate ids of each
   * partition (keys waiting for a retry) and the given rows (a batch still in flight), and in the
   * partitions of {@code after} the rows up to that {@code seq} (a page of held keys only, read
   * past) together with every row of a key that has a pending row up to that {@code seq}. Rows come
   * in {@code seq} order up to the one that reaches {@code maxBytes} (payloads and headers; the
   * first row always comes).
   *
   * <p>Why the read past is sound although {@code seq} is assigned at insert and a row becomes
   * visible at commit: the rows up to the position that were visible when it was set were all of
   * held keys, whose later events are held back in memory anyway. A row up to it that commits later
   * (of any key K) is not read while the position stands, but neither is any later row of K: the
   * statement leaves out every key with a pending row up to the position, in one snapshot. A later
   * event of K written after that row committed (the order we promise) is visible only together
   * with it, so it cannot pass it. Rows above the position come in {@code seq} order, as in any
   * read; the position is dropped after a read with something to send or a short one, so the late
   * row is read from the start soon after.
   */
  public Fetched fetch(
      Connection c,
      Collection<Integer> partitions,
      int perPartition,
      Map<Integer, List<String>> excluded,
      Map<Integer, List<Long>> inFlight,
      Map<Integer, Long> after,
      long maxBytes)
      throws SQLException {
    return fetch(c, partitions, perPartition, excluded, inFlight, after, maxBytes, ReadFloor.off());
  }

  /**
   * Statements a polling read's own transaction runs before {@link #fetch} ({@link
   * RelaySql#readSettings}); empty where the read runs in autocommit mode.
   */
  public List<String> readSettings() {
    return relaySql.readSettings();
  }

  /**
   * {@link #fetch(Connection, Collection, int, Map, Map, Map, long)}, the read in {@code seq} order
   * starting at {@code floor} where the database can ({@link RelaySql#readsFromFloor}) and the
   * floor is enabled, and moving it; every other read, and every failed one, drops the floor.
   */
  public Fetched fetch(
      Connection c,
      Collection<Integer> partitions,
      int perPartition,
      Map<Integer, List<String>> excluded,
      Map<Integer, List<Long>> inFlight,
      Map<Integer, Long> after,
      long maxBytes,
      ReadFloor floor)
      throws SQLException {
    if (after.isEmpty() && leavesOutEveryKey(partitions, excluded, inFlight)) {
      try {
        if (relaySql.readsFromFloor() && floor.enabled()) {
          return fetchFromFloor(c, partitions, perPartition, excluded, inFlight, maxBytes, floor);
        }
        floor.reset();
        return fetchInSeqOrder(c, partitions, perPartition, excluded, inFlight, maxBytes);
      } catch (SQLException | RuntimeException e) {
        floor.reset();
        throw e;
      }
    }
    floor.reset();
    int required = 1;
    int skipping = 0;
    for (int partition : partitions) {
      Long position = after.get(partition);
      required += 2 + (position != null && position != OWN_PAGE ? 3 : 0);
      required += inFlight.getOrDefault(partition, List.of()).size();
      skipping += excluded.getOrDefault(partition, List.of()).isEmpty() ? 0 : 1;
    }
    int keysPerPartition = skipping == 0 ? 0 : Math.max(0, (MAX_BINDS - required) / skipping);
    StringBuilder sql = new StringBuilder();
    List<Object> binds = new ArrayList<>();
    for (int partition : partitions) {
      List<String> skip = excluded.getOrDefault(partition, List.of());
      if (skip.size() > keysPerPartition) {
        skip = skip.subList(0, keysPerPartition);
      }
      if (sql.length() > 0) {
        sql.append(" UNION ALL ");
      }
      sql.append("(SELECT ")
          .append(COLUMNS)
          .append(", ")
          .append(ROW_BYTES)
          .append(" AS row_bytes FROM ")
          .append(t)
          .append(" r WHERE status = 'PENDING' AND partition_no = ?");
      binds.add(partition);
      List<Long> sent = inFlight.getOrDefault(partition, List.of());
      if (arrays) {
        // Always both conditions, empty or not: the same text for every read of these
        // partitions, so the plan of the statement is reused.
        sql.append(" AND aggregateid <> ALL(?) AND seq <> ALL(?)");
        binds.add(c.createArrayOf("varchar", skip.toArray()));
        binds.add(c.createArrayOf("bigint", sent.toArray()));
      } else if (!skip.isEmpty()) {
        sql.append(" AND aggregateid NOT IN (")
            .append(String.join(", ", Collections.nCopies(skip.size(), "?")))
            .append(")");
        binds.addAll(skip);
      }
      if (!arrays && !sent.isEmpty()) {
        sql.append(" AND seq NOT IN (")
            .append(String.join(", ", Collections.nCopies(sent.size(), "?")))
            .append(")");
        binds.addAll(sent);
      }
      Long from = after.get(partition);
      if (from != null && from != OWN_PAGE) {
        // Past a page of held keys, but never past an unread row of a key: seq is assigned at
        // insert and a row becomes visible at commit, so a row below the position may have
        // committed since that page was read. A key with any pending row up to the position is
        // left out here, in the same statement (one snapshot), and read from the start again.
        sql.append(" AND seq > ? AND NOT EXISTS (SELECT 1 FROM ")
            .append(t)
            .append(" b WHERE b.status = 'PENDING' AND b.partition_no = ? AND b.seq <= ?")
            .append(" AND b.aggregateid = r.aggregateid)");
        binds.add(from);
        binds.add(partition);
        binds.add(from);
      }
      sql.append(" ORDER BY seq LIMIT ?)");
      binds.add(perPartition);
    }
    // The byte budget, applied in the database so that rows past it are not even transferred: the
    // rows of every partition in seq order, up to the one that reaches the budget (the first row
    // always passes). What is kept is a seq prefix of every partition's rows, as order needs.
    String budgeted =
        "SELECT "
            + COLUMNS
            + ", in_partition, total FROM (SELECT u.*, SUM(row_bytes) OVER (ORDER BY seq) AS upto,"
            + " COUNT(*) OVER (PARTITION BY partition_no) AS in_partition, COUNT(*) OVER () AS"
            + " total FROM ("
            + sql
            + ") u) w WHERE upto - row_bytes < ? ORDER BY seq";
    binds.add(maxBytes);
    List<PendingEvent> rows = new ArrayList<>();
    List<Undecodable> undecodable = new ArrayList<>();
    java.util.Set<Integer> full = new java.util.HashSet<>();
    boolean cut = false;
    try (PreparedStatement statement = c.prepareStatement(budgeted)) {
      bind(statement, binds);
      Map<Integer, Integer> counts = new java.util.HashMap<>();
      Map<Integer, Integer> candidates = new java.util.HashMap<>();
      int total = 0;
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          int partition = rs.getInt("partition_no");
          int count = counts.merge(partition, 1, Integer::sum);
          if (count >= perPartition) {
            full.add(partition);
          }
          candidates.put(partition, rs.getInt("in_partition"));
          total = rs.getInt("total");
          PendingEvent row = decode(rs, undecodable);
          if (row != null) {
            rows.add(row);
          }
        }
      }
      // Cut by the budget: a partition with rows left is a page that ended (read on past it like a
      // full one), and the read has more.
      for (Map.Entry<Integer, Integer> kept : counts.entrySet()) {
        if (candidates.get(kept.getKey()) > kept.getValue()) {
          full.add(kept.getKey());
        }
      }
      cut = total > rows.size() + undecodable.size();
    }
    rows.sort(java.util.Comparator.comparingLong(PendingEvent::seq));
    return new Fetched(rows, !full.isEmpty() || cut, undecodable, full, cut);
  }

  /**
   * {@link #fetch} without a read-past position: the oldest pending rows of all the partitions in
   * one walk of the pending rows in {@code seq} order (the index of schema version 8), up to {@code
   * perPartition} × the number of partitions, then cut at the byte budget by a running sum over
   * rows already in that order (no sort). One walk visits each heap page once, where a walk per
   * partition visits a page per row (a partition's rows are every n-th row of the table); with dead
   * index entries at the head of the index (a drain before vacuum, a held snapshot) that is the
   * difference between a buffer access per page and one per row.
   *
   * <p>What a partition's rows in the result are is unchanged: its oldest pending rows, a {@code
   * seq} prefix of what this snapshot sees of it, so order per key holds as before (no position is
   * kept: a row with a smaller {@code seq} that commits later is read by the next read). A read
   * that the row limit or the budget ended is a page that ended for every partition it read. Keys
   * left out are left out of every partition read (a key has its rows in one partition unless the
   * partition count changed; then it only waits for its hold elsewhere, nothing passes it).
   */
  /**
   * Whether one walk in {@code seq} order can leave out every given key in SQL. When it cannot (IN
   * lists past {@link #MAX_BINDS}), the rest of the held keys' rows would come into the read and
   * could fill it, with nothing to send, for every partition of the read; partition by partition
   * they fill only their own partition's page.
   */
  private boolean leavesOutEveryKey(
      Collection<Integer> partitions,
      Map<Integer, List<String>> excluded,
      Map<Integer, List<Long>> inFlight) {
    if (arrays) {
      return true;
    }
    long binds = partitions.size() + 2L + skipped(partitions, excluded).size();
    for (List<Long> seqs : inFlight.values()) {
      binds += seqs.size();
    }
    return binds <= MAX_BINDS;
  }

  private static List<String> skipped(
      Collection<Integer> partitions, Map<Integer, List<String>> excluded) {
    List<String> skip = new ArrayList<>();
    excluded.forEach(
        (partition, keys) -> {
          if (partitions.contains(partition)) {
            skip.addAll(keys);
          }
        });
    return skip;
  }

  /** A statement and its bind values, in order. */
  record Statement(String sql, List<Object> binds) {}

  /**
   * The statement of {@code fetchInSeqOrder} with its binds (the row limit is the second last):
   * also what the read plan tests ask the database to {@code EXPLAIN}.
   */
  Statement seqOrderRead(
      Connection c,
      Collection<Integer> partitions,
      int perPartition,
      Map<Integer, List<String>> excluded,
      Map<Integer, List<Long>> inFlight,
      long maxBytes)
      throws SQLException {
    int limit = (int) Math.min(Integer.MAX_VALUE, (long) perPartition * partitions.size());
    List<Long> sent = new ArrayList<>();
    inFlight.values().forEach(sent::addAll);
    List<String> skip = skipped(partitions, excluded);
    StringBuilder where = new StringBuilder(" WHERE status = 'PENDING'");
    List<Object> binds = new ArrayList<>();
    if (arrays) {
      // Always every condition, empty or not: the same text for every read, so its plan is reused.
      where.append(" AND partition_no = ANY(?) AND aggregateid <> ALL(?) AND seq <> ALL(?)");
      binds.add(c.createArrayOf("integer", partitions.toArray()));
      binds.add(c.createArrayOf("varchar", skip.toArray()));
      binds.add(c.createArrayOf("bigint", sent.toArray()));
    } else {
      where.append(" AND partition_no IN (").append(marks(partitions.size())).append(")");
      binds.addAll(partitions);
      if (!skip.isEmpty()) {
        where.append(" AND aggregateid NOT IN (").append(marks(skip.size())).append(")");
        binds.addAll(skip);
      }
      if (!sent.isEmpty()) {
        where.append(" AND seq NOT IN (").append(marks(sent.size())).append(")");
        binds.addAll(sent);
      }
    }
    binds.add(limit);
    binds.add(maxBytes);
    String sql = relaySql.budgetedSeqOrderRead(t, COLUMNS, ROW_BYTES, where.toString());
    return new Statement(sql, binds);
  }

  private Fetched fetchInSeqOrder(
      Connection c,
      Collection<Integer> partitions,
      int perPartition,
      Map<Integer, List<String>> excluded,
      Map<Integer, List<Long>> inFlight,
      long maxBytes)
      throws SQLException {
    int limit = (int) Math.min(Integer.MAX_VALUE, (long) perPartition * partitions.size());
    Statement statementAndBinds =
        seqOrderRead(c, partitions, perPartition, excluded, inFlight, maxBytes);
    String sql = statementAndBinds.sql();
    List<Object> binds = statementAndBinds.binds();
    List<PendingEvent> rows = new ArrayList<>();
    List<Undecodable> undecodable = new ArrayList<>();
    int read = 0;
    long upto = 0;
    try (PreparedStatement statement = c.prepareStatement(sql)) {
      bind(statement, binds);
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          read++;
          upto = rs.getLong("upto");
          PendingEvent row = decode(rs, undecodable);
          if (row != null) {
            rows.add(row);
          }
        }
      }
    }
    boolean full = read >= limit;
    // The row that reached the budget came: rows may follow it (if none did, one more read finds
    // nothing).
    boolean cut = !full && read > 0 && upto >= maxBytes;
    java.util.Set<Integer> ended = new java.util.HashSet<>();
    if (full || cut) {
      ended.addAll(partitions);
    }
    return new Fetched(rows, full || cut, undecodable, ended, cut);
  }

  /**
   * The statement of {@code fetchFromFloor} with its binds: {@link #seqOrderRead}'s condition with
   * {@code seq >= floor} added (always, a very low floor when there is none: one text, one plan),
   * inside the statement of {@link RelaySql#flooredSeqOrderRead}. Also what the read plan tests ask
   * the database to {@code EXPLAIN}.
   */
  Statement flooredSeqOrderRead(
      Connection c,
      Collection<Integer> partitions,
      int perPartition,
      Map<Integer, List<String>> excluded,
      Map<Integer, List<Long>> inFlight,
      long maxBytes,
      long floor,
      @Nullable String waitingFor)
      throws SQLException {
    int limit = (int) Math.min(Integer.MAX_VALUE, (long) perPartition * partitions.size());
    List<Long> sent = new ArrayList<>();
    inFlight.values().forEach(sent::addAll);
    List<String> skip = skipped(partitions, excluded);
    java.sql.Array owned = c.createArrayOf("integer", partitions.toArray());
    String where =
        " WHERE status = 'PENDING' AND partition_no = ANY(?) AND aggregateid <> ALL(?) AND seq <>"
            + " ALL(?) AND seq >= ?";
    List<Object> binds = new ArrayList<>();
    binds.add(waitingFor);
    binds.add(waitingFor);
    binds.add(owned);
    binds.add(floor);
    binds.add(waitingFor);
    binds.add(waitingFor);
    binds.add(t);
    binds.add(owned);
    binds.add(c.createArrayOf("varchar", skip.toArray()));
    binds.add(c.createArrayOf("bigint", sent.toArray()));
    binds.add(floor);
    binds.add(limit);
    binds.add(maxBytes);
    return new Statement(relaySql.flooredSeqOrderRead(t, COLUMNS, ROW_BYTES, where), binds);
  }

  /** {@code fetchInSeqOrder} from the floor, moving the floor by what the statement reported. */
  private Fetched fetchFromFloor(
      Connection c,
      Collection<Integer> partitions,
      int perPartition,
      Map<Integer, List<String>> excluded,
      Map<Integer, List<Long>> inFlight,
      long maxBytes,
      ReadFloor floor)
      throws SQLException {
    int limit = (int) Math.min(Integer.MAX_VALUE, (long) perPartition * partitions.size());
    long from = floor.floorFor(Set.copyOf(partitions));
    Statement statementAndBinds =
        flooredSeqOrderRead(
            c, partitions, perPartition, excluded, inFlight, maxBytes, from, floor.waitingFor());
    List<PendingEvent> rows = new ArrayList<>();
    List<Undecodable> undecodable = new ArrayList<>();
    int read = 0;
    long upto = 0;
    long highest = ReadFloor.NONE;
    boolean first = true;
    String server = null;
    String sequence = null;
    String bound = null;
    Long lowest = null;
    boolean finished = false;
    try (PreparedStatement statement = c.prepareStatement(statementAndBinds.sql())) {
      bind(statement, statementAndBinds.binds());
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          if (first) {
            first = false;
            long low = rs.getLong("low");
            lowest = rs.wasNull() ? null : low;
            finished = rs.getBoolean("done");
            server = rs.getString("server");
            sequence = rs.getString("seqgen");
          }
          if (bound == null) {
            bound = rs.getString("bound"); // on the first row read, if any
          }
          long seq = rs.getLong("seq");
          if (rs.wasNull()) {
            continue; // the read found nothing: the one row carries only the snapshot's values
          }
          read++;
          highest = Math.max(highest, seq);
          long runningSum = rs.getLong("upto");
          if (runningSum > upto) {
            upto = runningSum;
          }
          PendingEvent row = decode(rs, undecodable);
          if (row != null) {
            rows.add(row);
          }
        }
      }
    }
    if (first || server == null) {
      throw new IllegalStateException("The floored read returned no snapshot row");
    }
    if (!floor.sameSource(server, String.valueOf(sequence)) && from != ReadFloor.NONE) {
      // Another server than the floor's, or a restarted seq identity: rows below the floor are
      // unknown. Again, from the head.
      return fetchFromFloor(c, partitions, perPartition, excluded, inFlight, maxBytes, floor);
    }
    floor.advance(bound, lowest, finished, highest);
    rows.sort(java.util.Comparator.comparingLong(PendingEvent::seq));
    boolean full = read >= limit;
    boolean cut = !full && read > 0 && upto >= maxBytes;
    java.util.Set<Integer> ended = new java.util.HashSet<>();
    if (full || cut) {
      ended.addAll(partitions);
    }
    return new Fetched(rows, full || cut, undecodable, ended, cut);
  }

  private static String marks(int count) {
    return String.join(", ", Collections.nCopies(count, "?"));
  }

  static void bind(PreparedStatement statement, List<Object> binds) throws SQLException {
    for (int i = 0; i < binds.size(); i++) {
      Object value = binds.get(i);
      if (value instanceof Integer n) {
        statement.setInt(i + 1, n);
      } else if (value instanceof Long seq) {
        statement.setLong(i + 1, seq);
      } else if (value instanceof java.sql.Array array) {
        statement.setArray(i + 1, array);
      } else if (value == null) {
        statement.setNull(i + 1, java.sql.Types.VARCHAR);
      } else {
        statement.setString(i + 1, (String) value);
      }
    }
  }

  /** The row as an event, or {@code null} after adding it to {@code undecodable}. */
  private @Nullable PendingEvent decode(ResultSet rs, List<Undecodable> undecodable)
      throws SQLException {
    try {
      return new PendingEvent(
          rs.getLong("seq"),
          OutboxColumns.readEvent(rs, dialect),
          rs.getInt("attempts"),
          dialect.getInstant(rs, "next_attempt_at"));
    } catch (RuntimeException e) {
      // One poison row must not stop the poll of every partition of this thread.
      undecodable.add(
          new Undecodable(rs.getLong("seq"), rs.getString("aggregateid"), e.toString()));
      return null;
    }
  }

  /**
   * Which of {@code seqs} are still pending rows. A row leaves {@code PENDING} only when it was
   * published (deleted, or marked when published rows are kept) or parked, never to come back (a
   * replay inserts a new row), so a row not found here is resolved for good.
   *
   * <p>The relay asks this for every key it holds on an event that a read did not bring, so {@code
   * seqs} may be more than a statement can bind (65,535 parameters on PostgreSQL, MySQL and
   * MariaDB): where the database binds arrays ({@link RelaySql#bindsArrays}) they go as one array,
   * otherwise in statements of {@value #CHUNK}. Chunks are separate statements, not one snapshot;
   * that changes nothing here, since a row that is not pending never becomes pending again.
   */
  public Set<Long> pending(Connection c, Collection<Long> seqs) throws SQLException {
    Set<Long> pending = new java.util.HashSet<>();
    if (seqs.isEmpty()) {
      return pending;
    }
    String select = "SELECT seq FROM " + t + " WHERE status = 'PENDING' AND seq ";
    if (arrays) {
      try (PreparedStatement statement = c.prepareStatement(select + "= ANY(?)")) {
        statement.setArray(1, c.createArrayOf("bigint", seqs.toArray()));
        collectSeqs(statement, pending);
      }
      return pending;
    }
    List<Long> all = List.copyOf(seqs);
    for (int from = 0; from < all.size(); from += CHUNK) {
      List<Long> chunk = all.subList(from, Math.min(all.size(), from + CHUNK));
      try (PreparedStatement statement =
          c.prepareStatement(select + "IN (" + marks(chunk.size()) + ")")) {
        int index = 1;
        for (long seq : chunk) {
          statement.setLong(index++, seq);
        }
        collectSeqs(statement, pending);
      }
    }
    return pending;
  }

  private static void collectSeqs(PreparedStatement statement, Set<Long> into) throws SQLException {
    try (ResultSet rs = statement.executeQuery()) {
      while (rs.next()) {
        into.add(rs.getLong(1));
      }
    }
  }

  /** The keys of a partition that failed before and their retry times (read at lease claim). */
  public Map<String, Instant> retrying(Connection c, int partition) throws SQLException {
    return retrying(c, List.of(partition)).getOrDefault(partition, Map.of());
  }

  /**
   * The keys that failed before and their retry times, by partition, for every partition given, in
   * one statement (read at lease claim). One statement, not one per partition: the statement reads
   * every pending row of the partitions (nothing indexes the failed ones alone), and the rows of
   * the partitions are interleaved on the table's pages, so one statement per partition visited
   * every page of a backlog once per partition: 16 partitions of a 1 M backlog took tens of seconds
   * on the lease thread before the first send.
   */
  public Map<Integer, Map<String, Instant>> retrying(Connection c, Collection<Integer> partitions)
      throws SQLException {
    Map<Integer, Map<String, Instant>> keys = new java.util.HashMap<>();
    if (partitions.isEmpty()) {
      return keys;
    }
    String in =
        arrays
            ? "partition_no = ANY(?)"
            : "partition_no IN ("
                + String.join(", ", Collections.nCopies(partitions.size(), "?"))
                + ")";
    try (PreparedStatement statement =
        c.prepareStatement(
            "SELECT partition_no, aggregateid, next_attempt_at FROM "
                + t
                + " WHERE status = 'PENDING' AND "
                + in
                + " AND (attempts > 0 OR next_attempt_at IS NOT NULL)")) {
      if (arrays) {
        statement.setArray(1, c.createArrayOf("integer", partitions.toArray()));
      } else {
        int index = 1;
        for (int partition : partitions) {
          statement.setInt(index++, partition);
        }
      }
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          Instant at = dialect.getInstant(rs, "next_attempt_at");
          keys.computeIfAbsent(rs.getInt("partition_no"), p -> new java.util.HashMap<>())
              .merge(
                  rs.getString("aggregateid"),
                  at == null ? Instant.EPOCH : at,
                  (a, b) -> a.isBefore(b) ? a : b);
        }
      }
    }
    return keys;
  }

  /**
   * Deletes published rows, or keeps them as {@code PUBLISHED} when {@code publishedAt} is set.
   * Only {@code PENDING} rows: an acknowledgement never removes a row parked meanwhile.
   */
  public int markPublished(Connection c, List<Long> seqs, @Nullable Instant publishedAt)
      throws SQLException {
    if (arrays) {
      return markPublishedAsArray(c, seqs, publishedAt);
    }
    int marked = 0;
    for (int from = 0; from < seqs.size(); from += CHUNK) {
      List<Long> chunk = seqs.subList(from, Math.min(seqs.size(), from + CHUNK));
      String in = String.join(", ", Collections.nCopies(chunk.size(), "?"));
      String sql =
          publishedAt == null
              ? relaySql.deleteBySeq(t) + " WHERE status = 'PENDING' AND seq IN (" + in + ")"
              : relaySql.updateBySeq(t)
                  + " SET status = 'PUBLISHED', published_at = ? WHERE status = 'PENDING' AND seq"
                  + " IN ("
                  + in
                  + ")";
      try (PreparedStatement statement = c.prepareStatement(sql)) {
        int index = 1;
        if (publishedAt != null) {
          dialect.setInstant(statement, index++, publishedAt);
        }
        for (long seq : chunk) {
          statement.setLong(index++, seq);
        }
        marked += statement.executeUpdate();
      }
    }
    return marked;
  }

  /** {@link #markPublished} in one statement of constant text, the seqs bound as one array. */
  private int markPublishedAsArray(Connection c, List<Long> seqs, @Nullable Instant publishedAt)
      throws SQLException {
    String sql =
        publishedAt == null
            ? relaySql.deleteBySeq(t) + " WHERE status = 'PENDING' AND seq = ANY(?)"
            : relaySql.updateBySeq(t)
                + " SET status = 'PUBLISHED', published_at = ? WHERE status = 'PENDING'"
                + " AND seq = ANY(?)";
    try (PreparedStatement statement = c.prepareStatement(sql)) {
      int index = 1;
      if (publishedAt != null) {
        dialect.setInstant(statement, index++, publishedAt);
      }
      statement.setArray(index, c.createArrayOf("bigint", seqs.toArray()));
      return statement.executeUpdate();
    }
  }

  /** A failed attempt: retry later, or park. */
  public record Failure(long seq, int attempts, @Nullable Instant nextAttemptAt, String error) {
    public boolean parked() {
      return nextAttemptAt == null;
    }
  }

  /**
   * Records failed attempts in one JDBC batch; a failure without a retry time parks the row. The
   * row's attempt count only goes up ({@code GREATEST}, in every supported database): an outcome
   * recorded late (a deposed owner's batch, counted from the row as it read it) must not lower the
   * count that another instance raised meanwhile, or the event would get more attempts than {@code
   * maxAttempts} before it is parked.
   */
  public void recordFailures(Connection c, List<Failure> failures) throws SQLException {
    try (PreparedStatement retry =
            c.prepareStatement(
                relaySql.updateBySeq(t)
                    + " SET attempts = GREATEST(attempts, ?), next_attempt_at = ?, last_error = ?"
                    + " WHERE seq = ? AND status = 'PENDING'");
        PreparedStatement park =
            c.prepareStatement(
                relaySql.updateBySeq(t)
                    + " SET status = 'DEAD', attempts = GREATEST(attempts, ?), next_attempt_at ="
                    + " NULL, last_error = ? WHERE seq = ? AND status = 'PENDING'")) {
      boolean retries = false;
      boolean parks = false;
      for (Failure f : failures) {
        String error = f.error().length() > 2000 ? f.error().substring(0, 2000) : f.error();
        if (f.parked()) {
          park.setInt(1, f.attempts());
          park.setString(2, error);
          park.setLong(3, f.seq());
          park.addBatch();
          parks = true;
        } else {
          retry.setInt(1, f.attempts());
          dialect.setInstant(retry, 2, f.nextAttemptAt());
          retry.setString(3, error);
          retry.setLong(4, f.seq());
          retry.addBatch();
          retries = true;
        }
      }
      if (retries) {
        retry.executeBatch();
      }
      if (parks) {
        park.executeBatch();
      }
    }
  }

  /** Parks rows that cannot be decoded, with the reason; returns how many were parked. */
  public int parkUndecodable(Connection c, List<Undecodable> rows) throws SQLException {
    int parked = 0;
    try (PreparedStatement park =
        c.prepareStatement(
            relaySql.updateBySeq(t)
                + " SET status = 'DEAD', attempts = attempts + 1, next_attempt_at = NULL,"
                + " last_error = ? WHERE seq = ? AND status = 'PENDING'")) {
      for (Undecodable row : rows) {
        String error = "Undecodable row: " + row.error();
        park.setString(1, error.length() > 2000 ? error.substring(0, 2000) : error);
        park.setLong(2, row.seq());
        parked += park.executeUpdate();
      }
    }
    return parked;
  }
}
