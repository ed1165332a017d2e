package dev.outboxkit.benchmarks;

import dev.outboxkit.benchmarks.peers.Producers;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * A relay that never deletes or updates an event row (PgQ's idea, PostgreSQL 13+ only), as a
 * contender for issue 23's held-xmin case. Every row carries the id of the transaction that wrote
 * it ({@code xid xid8 DEFAULT pg_current_xact_id()}, the top-level id even inside a savepoint). The
 * consumer's position is a pair of snapshots: everything visible in {@code done} has been
 * delivered; the rows of the current window are those visible in {@code target} but not in {@code
 * done}. A transaction in progress when {@code target} was taken is in its {@code xip} list, so its
 * rows belong to a later window however small their {@code seq}: "seq assigned at insert, visible
 * at commit" is decided by the snapshot, nothing is skipped. A window is read in pages of {@value
 * #BATCH} in {@code seq} order (per key, the order of insertion), each page sent asynchronously and
 * the position stored after its acknowledgements. A crash repeats at most the page in flight.
 *
 * <p>The table is range-partitioned on {@code xid}, {@code xidsPerPartition} ids per partition.
 * Every id below {@code xmin(done)} belongs to a finished transaction whose rows (if it committed)
 * were delivered, and no new transaction can get such an id: a partition whose range ends at or
 * below it is dropped whole, instead of deleting rows one by one. Nothing on the hot path leaves a
 * dead tuple (except the one-row position), so a session holding an old snapshot costs nothing. One
 * instance only (no lease); no retries, metrics or parking. See docs/design/no-delete-mode.md.
 */
final class SnapshotPositionRelay implements Runnable, AutoCloseable {

  static final int BATCH = 2000;
  static final String TABLE = "snapshot_outbox";

  /** Partitions created ahead of the next transaction id. */
  static final int AHEAD = 8;

  private static final String LOCK_NOT_AVAILABLE = "55P03";
  private static final String CHECK_VIOLATION = "23514";

  private static final String READ =
      "SELECT seq, id, aggregatetype, aggregateid, type, payload FROM "
          + TABLE
          + " WHERE xid >= ?::xid8 AND xid < ?::xid8 AND seq > ?"
          + " AND pg_visible_in_snapshot(xid, ?::pg_snapshot)"
          + " AND NOT pg_visible_in_snapshot(xid, ?::pg_snapshot) ORDER BY seq LIMIT "
          + BATCH;
  private static final String STORE =
      "UPDATE "
          + TABLE
          + "_position SET done = ?::pg_snapshot, target = ?::pg_snapshot,"
          + " after_seq = ? WHERE consumer = 'relay'";

  private final DataSource dataSource;
  private final long xidsPerPartition;
  private final KafkaProducer<byte[], byte[]> producer;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private final Thread thread;
  private final TreeSet<Long> partitions = new TreeSet<>();
  private String done;
  private String target;
  private long afterSeq;

  SnapshotPositionRelay(DataSource dataSource, String bootstrapServers, long xidsPerPartition) {
    this.dataSource = dataSource;
    this.xidsPerPartition = xidsPerPartition;
    this.producer = Producers.withByteKeys(bootstrapServers);
    this.thread = new Thread(this, "snapshot-position-relay");
  }

  /**
   * Creates the partitioned table, its default partition (rows whose id has no partition yet: read
   * like the others, never retired here) and the position, in one transaction: the starting {@code
   * done} is that transaction's snapshot, so a writer already running then is still in its {@code
   * xip} and its rows are delivered.
   */
  static void createSchema(Connection c, long xidsPerPartition) throws SQLException {
    boolean auto = c.getAutoCommit();
    c.setAutoCommit(false);
    try (Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS " + TABLE + ", " + TABLE + "_position");
      s.execute(
          "CREATE TABLE "
              + TABLE
              + " (seq BIGSERIAL, xid xid8 NOT NULL DEFAULT pg_current_xact_id(),"
              + " id UUID NOT NULL, aggregatetype VARCHAR(255) NOT NULL,"
              + " aggregateid VARCHAR(255) NOT NULL, type VARCHAR(255) NOT NULL, payload BYTEA)"
              + " PARTITION BY RANGE (xid)");
      s.execute("CREATE INDEX ON " + TABLE + " (seq)");
      s.execute("CREATE TABLE " + TABLE + "_default PARTITION OF " + TABLE + " DEFAULT");
      s.execute(
          "CREATE TABLE "
              + TABLE
              + "_position (consumer TEXT PRIMARY KEY, done pg_snapshot NOT NULL,"
              + " target pg_snapshot, after_seq BIGINT NOT NULL)");
      s.execute(
          "INSERT INTO " + TABLE + "_position VALUES ('relay', pg_current_snapshot(), NULL, 0)");
      c.commit();
    } finally {
      c.setAutoCommit(auto);
    }
    ensurePartitions(c, xidsPerPartition, new TreeSet<>());
  }

  /**
   * Creates the partitions from the one holding the next transaction id to {@value #AHEAD} beyond;
   * {@code known} caches which exist. Reading the next id from a snapshot assigns none. When the
   * writers have outrun the partitions, the current one is skipped: some of its rows may already be
   * in the default partition, which would make creating it fail. A writer that takes an id after
   * the read can do the same to a later range (its rows land in the default partition before the
   * partition exists): that range is given up (marked known, so never tried again; its rows stay in
   * the default partition, read like the others) and the next ones are still created.
   */
  static void ensurePartitions(Connection c, long width, TreeSet<Long> known) throws SQLException {
    long next = Long.parseLong(single(c, "SELECT pg_snapshot_xmax(pg_current_snapshot())"));
    long first = next / width;
    long from = known.isEmpty() || known.contains(first) ? first : first + 1;
    boolean auto = c.getAutoCommit();
    c.setAutoCommit(false); // one transaction per partition, so that a refused one can roll back
    try (Statement s = c.createStatement()) {
      for (long b = from; b <= first + AHEAD; b++) {
        if (known.contains(b)) {
          continue;
        }
        try {
          s.execute(
              String.format(
                  "CREATE TABLE IF NOT EXISTS %s_x%d PARTITION OF %s FOR VALUES FROM ('%d') TO ('%d')",
                  TABLE, b, TABLE, b * width, (b + 1) * width));
          c.commit();
        } catch (SQLException e) {
          c.rollback();
          if (LOCK_NOT_AVAILABLE.equals(e.getSQLState())) { // someone reads; next time
            return;
          }
          if (!CHECK_VIOLATION.equals(e.getSQLState())) { // rows of b's range in the default one
            throw e;
          }
        }
        known.add(b);
      }
    } finally {
      c.setAutoCommit(auto);
    }
  }

  void start() {
    thread.start();
  }

  @Override
  public void run() {
    try (Connection c = dataSource.getConnection()) {
      open(c);
      try {
        while (running.get()) {
          if (drainOnce(c) == 0) {
            Thread.sleep(10);
          }
        }
      } finally {
        try (Statement s = c.createStatement()) {
          s.execute("RESET lock_timeout"); // the connection goes back to a shared pool
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (SQLException | ExecutionException | RuntimeException | Error e) {
      if (running.get()) {
        failure.set(e); // seen by failIfStopped and close: a dead relay is never silent
      }
    }
  }

  /** Throws what stopped the relay thread, if it stopped on a failure. */
  void failIfStopped() {
    Throwable t = failure.get();
    if (t != null) {
      throw new IllegalStateException("snapshot-position relay failed", t);
    }
  }

  /** Prepares {@code c} (autocommit) for {@link #drainOnce}: reads the stored position. */
  void open(Connection c) throws SQLException {
    c.setAutoCommit(true);
    try (Statement s = c.createStatement()) {
      s.execute("SET lock_timeout = '100ms'"); // retiring waits for no one: it tries again later
    }
    try (PreparedStatement s =
            c.prepareStatement("SELECT done, target, after_seq FROM " + TABLE + "_position");
        ResultSet rs = s.executeQuery()) {
      rs.next();
      done = rs.getString(1);
      target = rs.getString(2);
      afterSeq = rs.getLong(3);
    }
    for (String name : partitionNames(c)) {
      partitions.add(Long.parseLong(name.substring(name.lastIndexOf("_x") + 2)));
    }
    ensurePartitions(c, xidsPerPartition, partitions);
  }

  /** One page of the current window (taking a new target first if there is none); rows sent. */
  int drainOnce(Connection c) throws SQLException, InterruptedException, ExecutionException {
    if (target == null) {
      target = single(c, "SELECT pg_current_snapshot()");
      afterSeq = 0;
      ensurePartitions(c, xidsPerPartition, partitions);
    }
    List<Future<RecordMetadata>> acks = new ArrayList<>(BATCH);
    long last = afterSeq;
    try (PreparedStatement s = c.prepareStatement(READ)) {
      s.setString(1, xmin(done)); // ids below it are visible in done (or aborted): delivered
      s.setString(2, target.split(":")[1]); // xmax: ids from it on are not visible in target
      s.setLong(3, afterSeq);
      s.setString(4, target);
      s.setString(5, done);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          last = rs.getLong("seq");
          acks.add(producer.send(record(rs)));
        }
      }
    }
    for (Future<RecordMetadata> ack : acks) {
      ack.get(); // a failed send throws before the position moves: the page is read again
    }
    if (acks.size() < BATCH) { // window complete: everything visible in target is delivered
      done = target;
      target = null;
      afterSeq = 0;
    } else {
      afterSeq = last;
    }
    if (!acks.isEmpty()) { // an empty window needs no write: re-reading it finds nothing again
      try (PreparedStatement s = c.prepareStatement(STORE)) {
        s.setString(1, done);
        s.setString(2, target);
        s.setLong(3, afterSeq);
        s.executeUpdate();
      }
    }
    if (target == null) {
      retire(c);
    }
    return acks.size();
  }

  /**
   * Drops the partitions whose whole id range is below {@code xmin(done)}: nothing left to read.
   */
  private void retire(Connection c) throws SQLException {
    long horizon = Long.parseLong(xmin(done));
    while (!partitions.isEmpty() && (partitions.first() + 1) * xidsPerPartition <= horizon) {
      try (Statement s = c.createStatement()) {
        s.execute("DROP TABLE IF EXISTS " + TABLE + "_x" + partitions.first());
      } catch (SQLException e) {
        if (LOCK_NOT_AVAILABLE.equals(
            e.getSQLState())) { // lock_not_available: a reader holds it; later
          return;
        }
        throw e;
      }
      partitions.pollFirst();
    }
  }

  private static ProducerRecord<byte[], byte[]> record(ResultSet rs) throws SQLException {
    ProducerRecord<byte[], byte[]> record =
        new ProducerRecord<>(
            rs.getString("aggregatetype"),
            rs.getString("aggregateid").getBytes(StandardCharsets.UTF_8),
            rs.getBytes("payload"));
    record.headers().add("outbox-event-id", rs.getString("id").getBytes(StandardCharsets.UTF_8));
    record
        .headers()
        .add("outbox-event-type", rs.getString("type").getBytes(StandardCharsets.UTF_8));
    record
        .headers()
        .add(
            "outbox-aggregate-type",
            rs.getString("aggregatetype").getBytes(StandardCharsets.UTF_8));
    return record;
  }

  private static String xmin(String snapshot) {
    return snapshot.substring(0, snapshot.indexOf(':'));
  }

  private static String single(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  /** The partitions currently attached (the default one aside), for tests. */
  static List<String> partitionNames(Connection c) throws SQLException {
    List<String> names = new ArrayList<>();
    try (Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                    + " WHERE i.inhparent = '"
                    + TABLE
                    + "'::regclass AND c.relname <> '"
                    + TABLE
                    + "_default' ORDER BY 1")) {
      while (rs.next()) {
        names.add(rs.getString(1));
      }
    }
    return names;
  }

  @Override
  public void close() throws InterruptedException {
    running.set(false);
    thread.join(30_000);
    producer.close();
    failIfStopped();
  }
}
