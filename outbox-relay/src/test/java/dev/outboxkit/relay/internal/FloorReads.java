package dev.outboxkit.relay.internal;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * What the read-floor tests on PostgreSQL share: a read of every partition from the floor as the
 * relay makes it, its acknowledgement, and rows inserted by plain SQL (each payload a short text
 * the tests look for).
 */
final class FloorReads {

  /** Every partition of the default 16. */
  static final Set<Integer> ALL = Set.copyOf(IntStream.range(0, 16).boxed().toList());

  private FloorReads() {}

  /**
   * One floored read of up to 100 rows on {@code c}, then their acknowledgement; their payloads.
   */
  static List<String> readAndPublish(Connection c, OutboxRows rows, ReadFloor floor)
      throws SQLException {
    OutboxRows.Fetched fetched = read(c, rows, floor);
    publish(c, rows, fetched);
    return payloads(fetched);
  }

  /** One floored read of up to 100 rows of every partition, with no key held. */
  static OutboxRows.Fetched read(Connection c, OutboxRows rows, ReadFloor floor)
      throws SQLException {
    return rows.fetch(c, ALL, 100, Map.of(), Map.of(), Map.of(), Long.MAX_VALUE, floor);
  }

  /** Marks what {@code fetched} holds published, as the relay does once the broker acknowledged. */
  static void publish(Connection c, OutboxRows rows, OutboxRows.Fetched fetched)
      throws SQLException {
    rows.markPublished(c, fetched.rows().stream().map(PendingEvent::seq).toList(), null);
  }

  static List<String> payloads(OutboxRows.Fetched fetched) {
    return fetched.rows().stream()
        .map(e -> new String(e.event().payload(), StandardCharsets.UTF_8))
        .toList();
  }

  /** Inserts a row of aggregate {@code floor} with {@code c}, in its transaction if it has one. */
  static void insert(Connection c, String key, String payload) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement(
            "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, created_at,"
                + " partition_no) VALUES (gen_random_uuid(), 'floor', ?, 'T', ?, now(), 0)")) {
      s.setString(1, key);
      s.setBytes(2, payload.getBytes(StandardCharsets.UTF_8));
      s.executeUpdate();
    }
  }
}
