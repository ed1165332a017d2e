package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import javax.sql.DataSource;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.runtime.WorkerConfig;
import org.apache.kafka.connect.storage.MemoryOffsetBackingStore;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Debezium's offsets in the CDC state table, in the engine's row, written only while this instance
 * holds the engine's lease: the update is conditional on the owner and epoch, so an engine that
 * lost its lease (a paused JVM, a network partition) can never move the offsets that its successor
 * relies on. Debezium instantiates this class by name; {@link #bind} hands it the relay's
 * DataSource and lease through the {@value #BINDING} property.
 */
public final class DatabaseOffsetStore extends MemoryOffsetBackingStore {

  /** The engine property naming this store's binding. */
  public static final String BINDING = "outboxkit.offsets.binding";

  /** What the store writes through, and the lease it writes under. */
  record Binding(
      DataSource dataSource,
      OutboxDialect dialect,
      OutboxTable table,
      String name,
      String owner,
      LongSupplier epoch,
      Clock clock,
      @Nullable DeletesWithOffsets deletes) {}

  private static final Logger log = LoggerFactory.getLogger(DatabaseOffsetStore.class);

  private static final Map<String, Binding> BINDINGS = new ConcurrentHashMap<>();

  private Binding binding;
  private String bindingKey;

  static void bind(String key, Binding binding) {
    BINDINGS.put(key, binding);
  }

  static Binding binding(String key) {
    return BINDINGS.get(key);
  }

  static void unbind(String key) {
    BINDINGS.remove(key);
  }

  @Override
  public void configure(WorkerConfig config) {
    super.configure(config);
    Object key = config.originals().get(BINDING);
    Binding found = key == null ? null : BINDINGS.get(key.toString());
    if (found == null) {
      throw new ConnectException("DatabaseOffsetStore is only usable from OutboxKit's CDC relay");
    }
    this.binding = found;
    this.bindingKey = key.toString();
  }

  @Override
  public synchronized void start() {
    super.start();
    try (Connection c = binding.dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT offsets FROM " + binding.table().qualifiedName() + " WHERE name = ?")) {
      s.setString(1, binding.name());
      try (ResultSet rs = s.executeQuery()) {
        if (rs.next()) {
          data.putAll(decode(rs.getString(1)));
        }
      }
    } catch (SQLException e) {
      throw new ConnectException("Could not read the CDC offsets of " + binding.name(), e);
    }
  }

  @Override
  protected void save() {
    // A position is only worth storing once the schema history it needs is stored.
    DatabaseSchemaHistory.awaitStored(bindingKey);
    String offsets = encode(data);
    DeletesWithOffsets deletes = binding.deletes();
    List<Long> published = deletes == null ? null : deletes.take();
    if (deletes != null && published != null) {
      // The batch's published rows go with the position after it, in one statement. Whatever it
      // did not delete goes back to the batch handler, which deletes it on its own afterwards.
      try {
        if (storeWithDeletes(deletes.sql(), offsets, published)) {
          return;
        }
        deletes.giveBack(published);
        throw lost();
      } catch (SQLException e) {
        // E.g. a DataSource user without DELETE (the handler's own statement reports that): the
        // position is stored without the deletes.
        deletes.giveBack(published);
        log.debug(
            "CDC engine {}: offsets and deletes in one statement failed ({}); storing the offsets"
                + " alone",
            binding.name(),
            e.toString());
      }
    }
    try (Connection c = binding.dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "UPDATE "
                    + binding.table().qualifiedName()
                    + " SET offsets = ?, updated_at = ? WHERE name = ? AND owner_id = ?"
                    + " AND epoch = ?")) {
      c.setAutoCommit(true);
      bindState(s, offsets);
      if (s.executeUpdate() != 1) {
        throw lost();
      }
    } catch (SQLException e) {
      throw new ConnectException("Could not store the CDC offsets of " + binding.name(), e);
    }
  }

  /** Stores the offsets and deletes the published rows; false when the lease was lost. */
  private boolean storeWithDeletes(String sql, String offsets, List<Long> published)
      throws SQLException {
    try (Connection c = binding.dataSource().getConnection();
        PreparedStatement s = c.prepareStatement(sql)) {
      c.setAutoCommit(true);
      bindState(s, offsets);
      s.setArray(6, c.createArrayOf("bigint", published.toArray()));
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() && rs.getLong(1) == 1;
      }
    }
  }

  /** Offsets, updated_at, name, owner_id and epoch, in this order. */
  private void bindState(PreparedStatement s, String offsets) throws SQLException {
    s.setString(1, offsets);
    binding.dialect().setInstant(s, 2, binding.clock().instant());
    s.setString(3, binding.name());
    s.setString(4, binding.owner());
    s.setLong(5, binding.epoch().getAsLong());
  }

  private ConnectException lost() {
    return new ConnectException(
        "CDC engine "
            + binding.name()
            + " lost its lease: offsets not stored (another instance is active)");
  }

  @Override
  public Set<Map<String, Object>> connectorPartitions(String connectorName) {
    return Set.of();
  }

  /** One line per entry: Base64(key) SPACE Base64(value); a null value is written as "-". */
  static String encode(Map<ByteBuffer, ByteBuffer> offsets) {
    StringBuilder out = new StringBuilder();
    Base64.Encoder b64 = Base64.getEncoder();
    for (Map.Entry<ByteBuffer, ByteBuffer> e : offsets.entrySet()) {
      out.append(b64.encodeToString(bytes(e.getKey())))
          .append(' ')
          .append(e.getValue() == null ? "-" : b64.encodeToString(bytes(e.getValue())))
          .append('\n');
    }
    return out.toString();
  }

  static Map<ByteBuffer, ByteBuffer> decode(String text) {
    Map<ByteBuffer, ByteBuffer> offsets = new HashMap<>();
    if (text == null) {
      return offsets;
    }
    Base64.Decoder b64 = Base64.getDecoder();
    for (String line : text.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      int space = line.indexOf(' ');
      String value = line.substring(space + 1);
      offsets.put(
          ByteBuffer.wrap(b64.decode(line.substring(0, space))),
          value.equals("-") ? null : ByteBuffer.wrap(b64.decode(value)));
    }
    return offsets;
  }

  private static byte[] bytes(ByteBuffer buffer) {
    ByteBuffer copy = buffer.duplicate();
    byte[] bytes = new byte[copy.remaining()];
    copy.get(bytes);
    return bytes;
  }

  @Override
  public String toString() {
    return "DatabaseOffsetStore[" + (binding == null ? "unbound" : binding.name()) + "]";
  }
}
