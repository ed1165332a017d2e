package dev.outboxkit.relay.cdc;

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
import java.util.function.Consumer;
import javax.sql.DataSource;

/**
 * The MySQL/MariaDB connector's schema history (the DDL it has seen, needed to decode the binlog
 * after a restart) in the CDC history table, through the relay's own DataSource: durable, next to
 * the offsets, and without a second set of credentials. Debezium instantiates it by name; it finds
 * the relay's DataSource through the binding named by {@value DatabaseOffsetStore#BINDING}.
 */
public final class DatabaseSchemaHistory extends AbstractSchemaHistory {

  private DatabaseOffsetStore.Binding binding;
  private String table;

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
    this.table = CdcSchema.historyTable(found.table()).qualifiedName();
  }

  @Override
  protected void storeRecord(HistoryRecord record) throws SchemaHistoryException {
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
      s.setString(2, DocumentWriter.defaultWriter().write(record.document()));
      s.setString(3, binding.name());
      s.executeUpdate();
    } catch (SQLException | IOException e) {
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
