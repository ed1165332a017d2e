package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayInspection;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.internal.LeaseStore;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The CDC state an operator reads ({@code java -jar outbox-relay-app.jar cdc}): the engine's lease
 * and the position Debezium stored in the state table, and where the change log has them, every
 * replication slot of the server with the WAL it retains. Reads only, on the relay's data source:
 * no CDC connection is opened and no engine is started.
 */
final class CdcInspection {

  private CdcInspection() {}

  static RelayInspection.CdcState read(
      Connection c, OutboxDialect dialect, @Nullable CdcOptions options) throws SQLException {
    Instant now = LeaseStore.databaseNow(c, dialect);
    ChangeLogSource source = ChangeLogSource.find(dialect);
    List<RelayInspection.ReplicationSlot> slots = source == null ? null : source.slots(c);
    RelayInspection.CdcEngine engine = null;
    String note = null;
    if (options == null) {
      note = "outbox.relay.mode is polling: no CDC engine configured";
    } else if (source == null || !CdcStartUp.stateTablesExist(c, dialect, options)) {
      note = "CDC state table " + options.stateTable() + " absent: the engine never started";
    } else {
      engine = engine(c, dialect, options, now);
      if (engine == null) {
        note = "no row for '" + options.name() + "' in " + options.stateTable() + ": never started";
      }
    }
    return new RelayInspection.CdcState(
        options == null ? null : options.name(), engine, note, slots, now);
  }

  private static RelayInspection.@Nullable CdcEngine engine(
      Connection c, OutboxDialect dialect, CdcOptions options, Instant now) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement(
            "SELECT name, owner_id, epoch, expires_at, updated_at, offsets, heartbeat_at,"
                + " relay_state, circuit_state FROM "
                + options.stateTable().qualifiedName()
                + " WHERE name = ?")) {
      s.setString(1, options.name());
      try (ResultSet rs = s.executeQuery()) {
        if (!rs.next()) {
          return null;
        }
        Instant expiresAt = dialect.getInstant(rs, "expires_at");
        return new RelayInspection.CdcEngine(
            rs.getString("name"),
            rs.getString("owner_id"),
            rs.getLong("epoch"),
            expiresAt,
            dialect.getInstant(rs, "updated_at"),
            expiresAt == null || !expiresAt.isAfter(now),
            position(rs.getString("offsets")),
            dialect.getInstant(rs, "heartbeat_at"),
            rs.getString("relay_state"),
            rs.getString("circuit_state"));
      }
    }
  }

  /**
   * Debezium's stored offsets as text: each value (a small JSON document such as {@code
   * {"file":"binlog.000003","pos":4711}} or {@code {"lsn":24023128,"txId":741}}), or {@code null}
   * when none is stored (never started, or offsets kept in Kafka).
   */
  private static @Nullable String position(@Nullable String offsets) {
    if (offsets == null || offsets.isBlank()) {
      return null;
    }
    List<String> values = new ArrayList<>();
    for (Map.Entry<ByteBuffer, ByteBuffer> e : DatabaseOffsetStore.decode(offsets).entrySet()) {
      if (e.getValue() != null) {
        values.add(StandardCharsets.UTF_8.decode(e.getValue().duplicate()).toString());
      }
    }
    return values.isEmpty() ? null : String.join("; ", values);
  }
}
