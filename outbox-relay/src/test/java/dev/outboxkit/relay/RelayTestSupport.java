package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/** What the relay tests share: reading records, counting rows, the sample events. */
final class RelayTestSupport {

  private RelayTestSupport() {}

  static String text(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /** The record's headers in their order, as text. */
  static Map<String, String> headers(ConsumerRecord<byte[], byte[]> record) {
    Map<String, String> headers = new LinkedHashMap<>();
    for (Header header : record.headers()) {
      headers.put(header.key(), text(header.value()));
    }
    return headers;
  }

  /**
   * Asserts that two relays sent the same records: the same number, and for each event id the same
   * key, value, timestamp, partition and headers in order.
   *
   * @return the expected records by event id
   */
  static Map<String, ConsumerRecord<byte[], byte[]>> assertSameRecords(
      List<ConsumerRecord<byte[], byte[]>> actual,
      List<ConsumerRecord<byte[], byte[]>> expected,
      int count) {
    assertThat(actual).hasSize(count);
    assertThat(expected).hasSize(count);
    Map<String, ConsumerRecord<byte[], byte[]>> byId = new HashMap<>();
    expected.forEach(r -> byId.put(headers(r).get(OutboxHeaders.EVENT_ID), r));
    for (ConsumerRecord<byte[], byte[]> a : actual) {
      ConsumerRecord<byte[], byte[]> e = byId.get(headers(a).get(OutboxHeaders.EVENT_ID));
      assertThat(e).as("the other relay sent %s too", headers(a)).isNotNull();
      assertThat(a.key()).isEqualTo(e.key());
      assertThat(a.value()).isEqualTo(e.value());
      assertThat(a.timestamp()).isEqualTo(e.timestamp());
      assertThat(a.partition()).isEqualTo(e.partition());
      assertThat(new ArrayList<>(headers(a).entrySet()))
          .containsExactlyElementsOf(headers(e).entrySet());
    }
    return byId;
  }

  /**
   * A relay builder with the tests' fast settings: 2 s leases with 250 ms heartbeats, 5-100 ms
   * polls, metrics every 100 ms, its own meter registry.
   */
  static TestRelayBuilder fastRelay(DataSource dataSource, String bootstrapServers) {
    return TestRelayBuilder.relay()
        .dataSource(dataSource)
        .bootstrapServers(bootstrapServers)
        .leases(java.time.Duration.ofSeconds(2), java.time.Duration.ofMillis(250))
        .pollInterval(java.time.Duration.ofMillis(5), java.time.Duration.ofMillis(100))
        .metricsInterval(java.time.Duration.ofMillis(100))
        .meterRegistry(new io.micrometer.core.instrument.simple.SimpleMeterRegistry())
        .shutdownTimeout(java.time.Duration.ofSeconds(10));
  }

  /** The event ids of the records, from their headers. */
  static java.util.Set<String> eventIds(List<ConsumerRecord<byte[], byte[]>> records) {
    return records.stream()
        .map(r -> headers(r).get(OutboxHeaders.EVENT_ID))
        .collect(java.util.stream.Collectors.toSet());
  }

  /** Empties the outbox and the lease tables. */
  static void clearRelayTables(DataSource dataSource) throws SQLException {
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_event");
      s.execute("DELETE FROM outbox_relay_lease");
      s.execute("DELETE FROM outbox_relay_member");
    }
  }

  /** How many leases the instance with this id holds (owner names are {@code <id>~<suffix>}). */
  static int leasesOwnedBy(DataSource dataSource, String instanceId) throws SQLException {
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT COUNT(*) FROM outbox_relay_lease WHERE owner_id LIKE '"
                    + instanceId
                    + "~%'")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  static long rows(DataSource dataSource, String where) throws SQLException {
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM outbox_event WHERE " + where)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /**
   * Commits three events that use every part of the envelope (JSON, text and tombstone payloads, a
   * tenant, a {@code traceparent} and a non-ASCII header; two events of one key) and rolls a fourth
   * back.
   *
   * @return the three committed events
   */
  static List<OutboxEvent> appendSamples(JdbcTransactions tx, Outbox outbox, String topic) {
    List<OutboxEvent> committed =
        tx.inTransaction(
            c ->
                outbox.appendAll(
                    List.of(
                        OutboxMessage.of(topic, "order-1", "OrderPlaced", Map.of("total", 42))
                            .withHeader(
                                "traceparent",
                                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
                            .withHeader("x-source", "checkout ü")
                            .withTenant("tenant-a"),
                        OutboxMessage.of(topic, "order-1", "OrderPaid", "raw text"),
                        OutboxMessage.of(topic, "order-2", "OrderDeleted", null))));
    try {
      tx.execute(
          c -> {
            outbox.append(OutboxMessage.of(topic, "order-3", "NeverHappened", "x"));
            throw new IllegalStateException("roll back");
          });
    } catch (IllegalStateException expected) {
      // rolled back: must never be published
    }
    return committed;
  }
}
