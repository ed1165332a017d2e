package dev.outboxkit.benchmarks;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.TreeSet;
import java.util.UUID;

/**
 * The {@link SnapshotPositionRelay} on its own partitioned table, loaded with the same events as
 * {@link OutboxBacklog} (1,000 per transaction, then {@code VACUUM ANALYZE}). {@code
 * -Dbench.xidsPerPartition} (default 256) sets the partition width.
 */
final class SnapshotPositionContender implements DrainContender {

  static final long XIDS_PER_PARTITION = Long.getLong("bench.xidsPerPartition", 256);

  @Override
  public String name() {
    return "snapshot-position";
  }

  @Override
  public void prepare(Pass pass) throws Exception {
    try (Connection c = pass.db().dataSource().getConnection()) {
      SnapshotPositionRelay.createSchema(c, XIDS_PER_PARTITION);
      load(c, pass, XIDS_PER_PARTITION);
      if (Boolean.parseBoolean(System.getProperty("bench.vacuum", "true"))) {
        c.setAutoCommit(true);
        try (Statement s = c.createStatement()) {
          s.execute("VACUUM ANALYZE " + SnapshotPositionRelay.TABLE);
        }
      }
    }
  }

  /** Inserts the pass's events, 1,000 per transaction, keeping partitions ahead of the writer. */
  static void load(Connection c, Pass pass, long width) throws Exception {
    TreeSet<Long> known = new TreeSet<>();
    for (int from = 0; from < pass.events(); from += 1000) {
      c.setAutoCommit(true);
      SnapshotPositionRelay.ensurePartitions(c, width, known);
      c.setAutoCommit(false);
      try (PreparedStatement s =
          c.prepareStatement(
              "INSERT INTO "
                  + SnapshotPositionRelay.TABLE
                  + " (id, aggregatetype, aggregateid, type, payload) VALUES (?, ?, ?, 'Bench', ?)")) {
        for (int i = from; i < Math.min(pass.events(), from + 1000); i++) {
          s.setObject(1, UUID.randomUUID());
          s.setString(2, pass.topic());
          s.setString(3, "key-" + i % pass.keys());
          s.setBytes(4, pass.payload());
          s.addBatch();
        }
        s.executeBatch();
      }
      c.commit();
    }
    c.setAutoCommit(true);
  }

  @Override
  public AutoCloseable start(Pass pass) {
    SnapshotPositionRelay relay =
        new SnapshotPositionRelay(
            pass.db().dataSource(), pass.bootstrapServers(), XIDS_PER_PARTITION);
    relay.start();
    return relay;
  }
}
