package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.relay.cdc.CdcSchema;
import io.debezium.config.Configuration;
import io.debezium.document.DocumentReader;
import io.debezium.document.DocumentWriter;
import io.debezium.relational.history.AbstractSchemaHistory;
import io.debezium.relational.history.HistoryRecord;
import io.debezium.relational.history.HistoryRecordComparator;
import io.debezium.relational.history.SchemaHistoryException;
import io.debezium.relational.history.SchemaHistoryListener;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * The MySQL/MariaDB connector's schema history (the DDL it has seen, needed to decode the binlog
 * after a restart) in the CDC history table, through the relay's own DataSource: durable, next to
 * the offsets, and without a second set of credentials. Debezium instantiates it by name; it finds
 * the relay's DataSource through the binding named by {@value DatabaseOffsetStore#BINDING}.
 *
 * <p>Records are written in order on a thread of their own, not in Debezium's: the first start's
 * snapshot stores the table's DDL while it holds the global read lock (FLUSH TABLES WITH READ
 * LOCK), which blocks every write, this one included, until the lock is released a moment later;
 * written in Debezium's thread, the insert would wait for a lock its own caller holds. {@link
 * DatabaseOffsetStore} waits for the pending records ({@link #awaitStored}) before it stores a
 * position, so a stored position never needs a record that is not stored.
 */
public final class DatabaseSchemaHistory extends AbstractSchemaHistory {

  private static final Map<String, DatabaseSchemaHistory> OPEN = new ConcurrentHashMap<>();

  private DatabaseOffsetStore.Binding binding;
  private String bindingKey;
  private String table;
  private @Nullable ExecutorService writer;
  private volatile CompletableFuture<Void> written = CompletableFuture.completedFuture(null);

  @Override
  public void configure(
      Configuration config,
      HistoryRecordComparator comparator,
      SchemaHistoryListener listener,
      boolean useCatalogBeforeSchema) {
    super.configure(config, comparator, listener, useCatalogBeforeSchema);
    String key = config.getString(DatabaseOffsetStore.BINDING);
    if (key == null) {
      key = config.getString("schema.history.internal." + DatabaseOffsetStore.BINDING);
    }
    DatabaseOffsetStore.Binding found = key == null ? null : DatabaseOffsetStore.binding(key);
    if (found == null) {
      throw new SchemaHistoryException(
          "DatabaseSchemaHistory is only usable from OutboxKit's CDC relay");
    }
    this.binding = found;
    this.bindingKey = key;
    this.table = CdcSchema.historyTable(found.table()).qualifiedName();
  }

  @Override
  public synchronized void start() {
    super.start();
    writer =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "outboxkit-cdc-history-" + binding.name());
              t.setDaemon(true);
              return t;
            });
    OPEN.put(bindingKey, this);
  }

  @Override
  public synchronized void stop() {
    OPEN.remove(bindingKey, this);
    ExecutorService w = writer;
    if (w != null) {
      w.shutdown();
      try {
        w.awaitTermination(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    super.stop();
  }

  /**
   * Waits until every record handed to the history of {@code bindingKey} is stored.
   *
   * @throws SchemaHistoryException when one could not be stored (the position must not be stored)
   */
  static void awaitStored(String bindingKey) {
    DatabaseSchemaHistory history = OPEN.get(bindingKey);
    if (history == null) {
      return;
    }
    try {
      history.written.get(5, TimeUnit.MINUTES);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SchemaHistoryException("Interrupted while storing the schema history", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new SchemaHistoryException("Could not store a schema history record", e);
    }
  }

  @Override
  protected synchronized void storeRecord(HistoryRecord record) throws SchemaHistoryException {
    String document;
    try {
      document = DocumentWriter.defaultWriter().write(record.document());
    } catch (IOException e) {
      throw new SchemaHistoryException("Could not store a schema history record", e);
    }
    ExecutorService w = writer;
    if (w == null) {
      insert(document);
      return;
    }
    // Chained: a record that fails stops the later ones, and the failure reaches awaitStored.
    written = written.thenRunAsync(() -> insert(document), w);
  }

  private void insert(String document) {
    try (Connection c = dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "INSERT INTO "
                    + table
                    + " (name, seq, record) SELECT ?, COALESCE(MAX(seq), 0) + 1, ? FROM "
                    + table
                    + " WHERE name = ?")) {
      c.setAutoCommit(true);
      s.setString(1, binding.name());
      s.setString(2, document);
      s.setString(3, binding.name());
      s.executeUpdate();
    } catch (SQLException e) {
      throw new SchemaHistoryException("Could not store a schema history record", e);
    }
  }

  @Override
  protected void recoverRecords(Consumer<HistoryRecord> records) {
    try (Connection c = dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement("SELECT record FROM " + table + " WHERE name = ? ORDER BY seq")) {
      s.setString(1, binding.name());
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          records.accept(new HistoryRecord(DocumentReader.defaultReader().read(rs.getString(1))));
        }
      }
    } catch (SQLException | IOException e) {
      throw new SchemaHistoryException("Could not read the schema history", e);
    }
  }

  @Override
  public boolean exists() {
    try (Connection c = dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement("SELECT COUNT(*) FROM " + table + " WHERE name = ?")) {
      s.setString(1, binding.name());
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getLong(1) > 0;
      }
    } catch (SQLException e) {
      throw new SchemaHistoryException("Could not read the schema history", e);
    }
  }

  @Override
  public boolean storageExists() {
    return true; // created with the state table (V0_4__outboxkit_cdc.sql)
  }

  private DataSource dataSource() {
    return binding.dataSource();
  }

  @Override
  public String toString() {
    return "DatabaseSchemaHistory[" + (binding == null ? "unbound" : binding.name()) + "]";
  }
}
