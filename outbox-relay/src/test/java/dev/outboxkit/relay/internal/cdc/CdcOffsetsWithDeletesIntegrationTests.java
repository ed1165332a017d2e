package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.relay.cdc.CdcSchema;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.runtime.standalone.StandaloneConfig;
import org.apache.kafka.connect.storage.StringConverter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 23: on PostgreSQL the offsets after a batch and the {@code DELETE} of its published rows go
 * in one statement, through the offset store as Debezium drives it ({@code set}, then {@code
 * save}); a lost lease stores and deletes nothing, and a failing statement still stores the offsets
 * and leaves the rows to the batch handler's own {@code DELETE}.
 */
@ServerTest
class CdcOffsetsWithDeletesIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private static final OutboxTable STATE = OutboxTable.of("outbox_cdc_state");

  private final List<DatabaseOffsetStore> stores = new ArrayList<>();
  private OutboxDialect dialect;
  private String name;
  private List<Long> seqs;

  @BeforeEach
  void setUp() throws SQLException {
    dialect = RelayTables.create(db.dataSource());
    name = "offsets_" + System.nanoTime() % 1_000_000;
    try (Connection c = db.dataSource().getConnection()) {
      CdcSchema.create(c, dialect, STATE);
      try (PreparedStatement s =
          c.prepareStatement(
              "INSERT INTO outbox_cdc_state (name, owner_id, epoch) VALUES (?, 'me', 7)")) {
        s.setString(1, name);
        s.executeUpdate();
      }
    }
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    seqs = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      String key = name + "-" + i;
      tx.execute(c -> outbox.append(OutboxMessage.of("t", key, "E", "0")));
      seqs.add(seqOf(key));
    }
  }

  @AfterEach
  void stopStores() {
    stores.forEach(DatabaseOffsetStore::stop);
  }

  @Test
  void theOffsetsAreStoredAndThePublishedRowsDeletedByOneStatement() throws Exception {
    DeletesWithOffsets deletes = deletes(OutboxTable.DEFAULT.qualifiedName());
    deletes.defer(seqs);

    store(7, deletes)
        .set(Map.of(bytes("position"), bytes("after-batch")), null)
        .get(10, TimeUnit.SECONDS);

    assertThat(storedOffsets())
        .contains(DatabaseOffsetStore.encode(Map.of(bytes("position"), bytes("after-batch"))));
    assertThat(rowsLeft()).isZero();
    assertThat(deletes.take()).as("nothing left for the handler's own DELETE").isNull();
  }

  @Test
  void aLostLeaseStoresNoOffsetsAndDeletesNoRow() throws Exception {
    DeletesWithOffsets deletes = deletes(OutboxTable.DEFAULT.qualifiedName());
    deletes.defer(seqs);
    DatabaseOffsetStore deposed = store(6, deletes); // the lease moved on to epoch 7

    assertThatThrownBy(
            () ->
                deposed.set(Map.of(bytes("position"), bytes("x")), null).get(10, TimeUnit.SECONDS))
        .hasCauseInstanceOf(ConnectException.class)
        .hasMessageContaining("lost its lease");
    assertThat(storedOffsets()).isNull();
    assertThat(rowsLeft()).isEqualTo(3);
    assertThat(deletes.take()).as("given back to the handler").containsExactlyElementsOf(seqs);
  }

  @Test
  void aFailingStatementStillStoresTheOffsetsAndGivesTheRowsBack() throws Exception {
    // A statement the server refuses (here: a table that does not exist; in production e.g. a
    // DataSource user without DELETE).
    DeletesWithOffsets deletes = deletes("no_such_outbox_table");
    deletes.defer(seqs);

    store(7, deletes).set(Map.of(bytes("position"), bytes("y")), null).get(10, TimeUnit.SECONDS);

    assertThat(storedOffsets()).isNotNull();
    assertThat(rowsLeft()).isEqualTo(3);
    assertThat(deletes.take()).containsExactlyElementsOf(seqs);
  }

  private DeletesWithOffsets deletes(String outboxTable) {
    return new DeletesWithOffsets(
        ChangeLogSource.of(dialect).offsetsWithDeleteSql(STATE.qualifiedName(), outboxTable));
  }

  private DatabaseOffsetStore store(long epoch, DeletesWithOffsets deletes) {
    String key = name + "-" + epoch;
    DatabaseOffsetStore.bind(
        key,
        new DatabaseOffsetStore.Binding(
            db.dataSource(), dialect, STATE, name, "me", () -> epoch, Clock.systemUTC(), deletes));
    DatabaseOffsetStore store = new DatabaseOffsetStore();
    store.configure(
        new StandaloneConfig(
            Map.of(
                "bootstrap.servers",
                "localhost:9092",
                "key.converter",
                StringConverter.class.getName(),
                "value.converter",
                StringConverter.class.getName(),
                "offset.storage.file.filename",
                "unused",
                DatabaseOffsetStore.BINDING,
                key)));
    store.start();
    stores.add(store);
    return store;
  }

  private static ByteBuffer bytes(String text) {
    return ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
  }

  private String storedOffsets() throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement("SELECT offsets FROM outbox_cdc_state WHERE name = ?")) {
      s.setString(1, name);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getString(1);
      }
    }
  }

  private long rowsLeft() throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement("SELECT COUNT(*) FROM outbox_event WHERE seq = ANY(?)")) {
      s.setArray(1, c.createArrayOf("bigint", seqs.toArray()));
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private long seqOf(String key) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement("SELECT seq FROM outbox_event WHERE aggregateid = ?")) {
      s.setString(1, key);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }
}
