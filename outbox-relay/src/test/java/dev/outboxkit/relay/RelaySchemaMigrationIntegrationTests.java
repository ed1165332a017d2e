package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcSchema;
import dev.outboxkit.relay.internal.TableColumns;
import dev.outboxkit.test.DatabaseKind;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.ShippedScripts;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import liquibase.command.CommandScope;
import liquibase.command.core.UpdateCommandStep;
import liquibase.command.core.helpers.DbUrlConnectionArgumentsCommandStep;
import liquibase.database.Database;
import liquibase.database.DatabaseFactory;
import liquibase.database.jvm.JdbcConnection;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The shipped relay scripts: what the code creates, and what Flyway and Liquibase apply. */
@ServerTest
class RelaySchemaMigrationIntegrationTests {

  private static final OutboxTable LEASES = OutboxTable.of(RelayDefaults.LEASE_TABLE);
  private static final OutboxTable MEMBERS = OutboxTable.of(RelayDefaults.MEMBER_TABLE);
  private static final OutboxTable AUDIT = OutboxTable.of(RelayDefaults.AUDIT_TABLE);
  private static final OutboxTable CDC_STATE = OutboxTable.of(RelayDefaults.CDC_STATE_TABLE);

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mysql", "mariadb", "h2"})
  void shippedScriptIsWhatRelaySchemaCreates(String name) {
    OutboxDialect dialect = OutboxDialect.named(name);
    List<String> statements = ShippedScripts.statements(RelaySchema.scriptLocation(dialect));
    assertThat(statements)
        .isEqualTo(RelaySchema.createStatements(dialect, OutboxTable.DEFAULT, LEASES, MEMBERS));
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mysql", "mariadb", "h2"})
  void shippedUpgradeScriptIsWhatRelaySchemaAdds(String name) {
    OutboxDialect dialect = OutboxDialect.named(name);
    assertThat(ShippedScripts.statements(RelaySchema.upgradeScriptLocation(dialect)))
        .isEqualTo(RelaySchema.upgradeStatements(dialect, MEMBERS));
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mysql", "mariadb", "h2"})
  void shippedMemberStateScriptIsWhatRelaySchemaAdds(String name) {
    OutboxDialect dialect = OutboxDialect.named(name);
    assertThat(ShippedScripts.statements(RelaySchema.memberStateScriptLocation(dialect)))
        .isEqualTo(RelaySchema.memberStateStatements(dialect, MEMBERS));
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mysql", "mariadb", "h2"})
  void shippedPendingSeqIndexScriptIsWhatRelaySchemaAdds(String name) {
    OutboxDialect dialect = OutboxDialect.named(name);
    assertThat(ShippedScripts.statements(RelaySchema.pendingSeqIndexScriptLocation(dialect)))
        .isEqualTo(RelaySchema.pendingSeqIndexStatements(dialect, OutboxTable.DEFAULT));
  }

  @Test
  void shippedAutovacuumScriptIsWhatRelaySchemaSetsOnPostgres() {
    OutboxDialect dialect = OutboxDialect.named("postgresql");
    assertThat(RelaySchema.outboxStorageStatements(dialect, OutboxTable.DEFAULT)).isNotEmpty();
    assertThat(ShippedScripts.statements(RelaySchema.outboxStorageScriptLocation(dialect)))
        .isEqualTo(RelaySchema.outboxStorageStatements(dialect, OutboxTable.DEFAULT));
  }

  @Test
  void shippedReadFloorScriptIsWhatRelaySchemaCreatesOnPostgres() {
    OutboxDialect dialect = OutboxDialect.named("postgresql");
    assertThat(RelaySchema.readFloorStatements(dialect, OutboxTable.DEFAULT)).isNotEmpty();
    assertThat(ShippedScripts.statements(RelaySchema.readFloorScriptLocation(dialect)))
        .isEqualTo(RelaySchema.readFloorStatements(dialect, OutboxTable.DEFAULT));
  }

  @Test
  void shippedParkedIndexScriptIsWhatRelaySchemaCreatesOnPostgres() {
    OutboxDialect dialect = OutboxDialect.named("postgresql");
    assertThat(RelaySchema.parkedIndexStatements(dialect, OutboxTable.DEFAULT)).isNotEmpty();
    assertThat(ShippedScripts.statements(RelaySchema.parkedIndexScriptLocation(dialect)))
        .isEqualTo(RelaySchema.parkedIndexStatements(dialect, OutboxTable.DEFAULT));
  }

  /**
   * Version 13 is PostgreSQL's only: the others have an index that leads with {@code status} since
   * version 1.
   */
  @ParameterizedTest
  @ValueSource(strings = {"mysql", "mariadb", "h2"})
  void version13HasNothingToCreateElsewhere(String name) {
    OutboxDialect dialect = OutboxDialect.named(name);
    assertThat(RelaySchema.parkedIndexStatements(dialect, OutboxTable.DEFAULT)).isEmpty();
    assertThat(
            getClass().getClassLoader().getResource(RelaySchema.parkedIndexScriptLocation(dialect)))
        .isNull();
  }

  /** Version 12 is PostgreSQL's only: the others read from the head of the index as before. */
  @ParameterizedTest
  @ValueSource(strings = {"mysql", "mariadb", "h2"})
  void version12HasNothingToCreateElsewhere(String name) {
    OutboxDialect dialect = OutboxDialect.named(name);
    assertThat(RelaySchema.readFloorStatements(dialect, OutboxTable.DEFAULT)).isEmpty();
    assertThat(
            getClass().getClassLoader().getResource(RelaySchema.readFloorScriptLocation(dialect)))
        .isNull();
  }

  /** Version 9 is PostgreSQL's only: the others have no per-table vacuum settings. */
  @ParameterizedTest
  @ValueSource(strings = {"mysql", "mariadb", "h2"})
  void version9HasNothingToSetElsewhere(String name) {
    OutboxDialect dialect = OutboxDialect.named(name);
    assertThat(RelaySchema.outboxStorageStatements(dialect, OutboxTable.DEFAULT)).isEmpty();
    assertThat(
            getClass()
                .getClassLoader()
                .getResource(RelaySchema.outboxStorageScriptLocation(dialect)))
        .isNull();
  }

  /**
   * {@code create} sets the autovacuum settings of version 9 on an outbox table without any, and
   * leaves a table alone whose settings an operator chose.
   */
  @Test
  void createSetsTheAutovacuumSettingsOnlyWhereNoneWereChosen() throws Exception {
    assumeAvailable(DatabaseKind.POSTGRESQL);
    OutboxDialect dialect = OutboxDialect.named("postgresql");
    try (TestDatabase fresh =
            TestServers.database(DatabaseKind.POSTGRESQL)
                .createDatabase(name("autovacuum", DatabaseKind.POSTGRESQL));
        Connection connection = fresh.dataSource().getConnection()) {
      OutboxSchema.create(connection, dialect, OutboxTable.DEFAULT);
      assertThat(reloptions(connection)).isEmpty();
      RelaySchema.create(connection, dialect, OutboxTable.DEFAULT, LEASES, MEMBERS);
      assertThat(reloptions(connection))
          .contains(
              "autovacuum_vacuum_scale_factor=0",
              "autovacuum_vacuum_threshold=20000",
              "autovacuum_vacuum_cost_delay=0");
      try (Statement s = connection.createStatement()) {
        s.execute(
            "ALTER TABLE outbox_event RESET (autovacuum_vacuum_scale_factor,"
                + " autovacuum_vacuum_threshold, autovacuum_vacuum_cost_delay,"
                + " autovacuum_analyze_scale_factor, autovacuum_analyze_threshold)");
        s.execute("ALTER TABLE outbox_event SET (autovacuum_vacuum_threshold = 5000)");
      }
      RelaySchema.create(connection, dialect, OutboxTable.DEFAULT, LEASES, MEMBERS);
      assertThat(reloptions(connection))
          .as("an operator's own setting stays, and nothing is added to it")
          .containsExactly("autovacuum_vacuum_threshold=5000");
    }
  }

  private static List<String> reloptions(Connection connection) throws Exception {
    try (Statement s = connection.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT unnest(reloptions) FROM pg_class WHERE oid = 'outbox_event'::regclass")) {
      List<String> options = new java.util.ArrayList<>();
      while (rs.next()) {
        options.add(rs.getString(1));
      }
      return options;
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mysql", "mariadb", "h2"})
  void shippedAuditScriptIsWhatAuditSchemaCreates(String name) {
    OutboxDialect dialect = OutboxDialect.named(name);
    assertThat(ShippedScripts.statements(AuditSchema.scriptLocation(dialect)))
        .isEqualTo(AuditSchema.createStatements(dialect, AUDIT));
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mysql", "mariadb"})
  void shippedCdcUpgradeScriptIsWhatCdcSchemaAdds(String name) {
    OutboxDialect dialect = OutboxDialect.named(name);
    assertThat(ShippedScripts.statements(CdcSchema.upgradeScriptLocation(dialect)))
        .isEqualTo(CdcSchema.upgradeStatements(dialect, CDC_STATE));
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mysql", "mariadb"})
  void shippedCdcRelayStateScriptIsWhatCdcSchemaAdds(String name) {
    OutboxDialect dialect = OutboxDialect.named(name);
    assertThat(ShippedScripts.statements(CdcSchema.relayStateScriptLocation(dialect)))
        .isEqualTo(CdcSchema.relayStateStatements(dialect, CDC_STATE));
  }

  /**
   * Tables made by an earlier version (auto-created in development) get the later columns from
   * {@code create}, and {@code verify} names what an un-migrated table lacks and the script.
   */
  @ParameterizedTest
  @EnumSource(names = {"POSTGRESQL", "MARIADB", "MYSQL", "H2"})
  void createAddsTheSessionLockColumnToTablesOfTheFirstVersion(DatabaseKind kind) throws Exception {
    assumeAvailable(kind);
    try (TestDatabase database = TestServers.database(kind).createDatabase(name("upgrade", kind));
        Connection connection = database.dataSource().getConnection()) {
      OutboxDialect dialect = OutboxDialect.named(kind.key());
      OutboxSchema.create(connection, dialect, OutboxTable.DEFAULT);
      try (Statement s = connection.createStatement()) {
        for (String sql :
            RelaySchema.createStatements(dialect, OutboxTable.DEFAULT, LEASES, MEMBERS)) {
          s.execute(sql);
        }
        if (kind != DatabaseKind.H2) {
          for (String sql : CdcSchema.createStatements(dialect, CDC_STATE)) {
            s.execute(sql);
          }
          assertThat(TableColumns.of(connection, CDC_STATE))
              .as("a state table of version 4")
              .doesNotContain("session_lock_owner", "heartbeat_at", "relay_state", "circuit_state");
        }
      }
      assertThatThrownBy(() -> RelaySchema.verify(connection, dialect, LEASES, MEMBERS))
          .hasMessageContaining("lacks column(s) [session_lock, relay_state, circuit_state]")
          .hasMessageContaining(RelaySchema.upgradeScriptLocation(dialect))
          .hasMessageContaining(RelaySchema.memberStateScriptLocation(dialect));

      // Two instances starting at once both find the column missing; neither may fail. (Not on
      // H2, which refuses concurrent DDL of any kind: "Concurrent update in table SYS".)
      if (kind != DatabaseKind.H2) {
        createConcurrently(
            database,
            c -> {
              TableColumns.addIfMissing(
                  c,
                  MEMBERS,
                  RelaySchema.SESSION_LOCK_COLUMN,
                  RelaySchema.upgradeStatements(dialect, MEMBERS));
              TableColumns.addIfMissing(
                  c,
                  CDC_STATE,
                  "session_lock_owner",
                  CdcSchema.upgradeStatements(dialect, CDC_STATE));
              TableColumns.addIfMissing(
                  c,
                  CDC_STATE,
                  "relay_state",
                  List.of(CdcSchema.relayStateStatements(dialect, CDC_STATE).get(1)));
            });
      }
      assertThat(hasPendingSeqIndex(connection)).as("version 1 has no seq-order index").isFalse();
      assertThat(hasParkedIndex(connection)).as("version 1 has no parked index").isFalse();
      RelaySchema.create(connection, dialect, OutboxTable.DEFAULT, LEASES, MEMBERS);
      // Again: the index of version 8 is there now (MySQL has no CREATE INDEX IF NOT EXISTS).
      RelaySchema.create(connection, dialect, OutboxTable.DEFAULT, LEASES, MEMBERS);
      RelaySchema.verify(connection, dialect, LEASES, MEMBERS);
      assertThat(hasPendingSeqIndex(connection)).isTrue();
      assertThat(hasParkedIndex(connection))
          .as("the parked index of version 13 (PostgreSQL only)")
          .isEqualTo(kind == DatabaseKind.POSTGRESQL);
      if (kind != DatabaseKind.H2) {
        CdcSchema.create(connection, dialect, CDC_STATE);
        CdcSchema.create(connection, dialect, CDC_STATE);
        try (Statement s = connection.createStatement()) {
          s.executeQuery(
                  "SELECT session_lock_owner, heartbeat_at, relay_state, circuit_state FROM "
                      + CDC_STATE.qualifiedName())
              .close();
        }
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mysql", "mariadb"})
  void shippedCdcScriptIsWhatCdcSchemaCreates(String name) {
    OutboxDialect dialect = OutboxDialect.named(name);
    assertThat(ShippedScripts.statements(CdcSchema.scriptLocation(dialect)))
        .isEqualTo(CdcSchema.createStatements(dialect, CDC_STATE));
  }

  @ParameterizedTest
  @EnumSource(names = {"POSTGRESQL", "MARIADB", "MYSQL", "H2"})
  void flywayAppliesTheOutboxAndRelayScriptsAndPostgresNotifiesOnInsert(DatabaseKind kind)
      throws Exception {
    assumeAvailable(kind);
    try (TestDatabase database = TestServers.database(kind).createDatabase(name("flyway", kind))) {
      OutboxDialect dialect = OutboxDialect.named(kind.key());
      var result =
          Flyway.configure()
              .dataSource(database.dataSource())
              .locations(
                  "classpath:" + OutboxSchema.scriptLocation(dialect).replaceAll("/[^/]*$", ""))
              .table("outboxkit_schema_history")
              .load()
              .migrate();
      // V0_1 outbox, V0_2 idempotency (on this module's test class path for the role script
      // tests), V0_3 relay, V0_5 its session-lock column, and where CDC exists (not on H2) V0_4
      // CDC and V0_6 its session-lock column, V0_7 the audit table, V0_8 the seq-order index,
      // on PostgreSQL V0_9 the outbox table's autovacuum settings, V0_10 the member row's
      // reported state (Flyway orders 0.10 after 0.9), where CDC exists V0_11 the CDC state
      // row's reported state, and on PostgreSQL V0_12 the read floor's trigger and V0_13 the
      // parked index.
      assertThat(result.migrationsExecuted)
          .isEqualTo(
              switch (kind) {
                case H2 -> 7;
                case POSTGRESQL -> 13;
                default -> 10;
              });
      try (Connection connection = database.dataSource().getConnection()) {
        assertThat(hasPendingSeqIndex(connection)).isTrue();
        assertThat(hasParkedIndex(connection)).isEqualTo(kind == DatabaseKind.POSTGRESQL);
        if (kind == DatabaseKind.POSTGRESQL) {
          assertThat(reloptions(connection)).contains("autovacuum_vacuum_scale_factor=0");
        }
        RelaySchema.verify(connection, dialect, LEASES, MEMBERS);
        AuditSchema.verify(connection, dialect, AUDIT);
        if (kind != DatabaseKind.H2) {
          assertCdcTablesExist(connection);
        }
        if (dialect.supportsListenNotify()) {
          try (Statement s = connection.createStatement();
              ResultSet rs =
                  s.executeQuery(
                      "SELECT count(*) FROM pg_trigger WHERE tgname = 'outbox_event_notify'")) {
            rs.next();
            assertThat(rs.getInt(1)).isOne();
          }
          assertThat(
                  dev.outboxkit.relay.internal.dialect.RelaySql.of(dialect)
                      .readFloorUnavailable(connection, OutboxTable.DEFAULT))
              .as("the read floor after the Flyway scripts")
              .isNull();
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"POSTGRESQL", "MARIADB", "MYSQL", "H2"})
  void liquibaseAppliesTheRelayChangelogAfterTheOutboxOne(DatabaseKind kind) throws Exception {
    assumeAvailable(kind);
    try (TestDatabase database =
            TestServers.database(kind).createDatabase(name("liquibase", kind));
        Connection connection = database.dataSource().getConnection()) {
      Database liquibaseDatabase =
          DatabaseFactory.getInstance()
              .findCorrectDatabaseImplementation(new JdbcConnection(connection));
      for (String changelog :
          List.of(
              "dev/outboxkit/schema/liquibase/outboxkit-changelog.xml",
              "dev/outboxkit/schema/liquibase/outboxkit-relay-changelog.xml",
              "dev/outboxkit/schema/liquibase/outboxkit-cdc-changelog.xml")) {
        new CommandScope(UpdateCommandStep.COMMAND_NAME)
            .addArgumentValue(DbUrlConnectionArgumentsCommandStep.DATABASE_ARG, liquibaseDatabase)
            .addArgumentValue(UpdateCommandStep.CHANGELOG_FILE_ARG, changelog)
            .execute();
      }
      RelaySchema.verify(connection, OutboxDialect.named(kind.key()), LEASES, MEMBERS);
      AuditSchema.verify(connection, OutboxDialect.named(kind.key()), AUDIT);
      assertThat(hasPendingSeqIndex(connection)).isTrue();
      assertThat(hasParkedIndex(connection)).isEqualTo(kind == DatabaseKind.POSTGRESQL);
      if (kind == DatabaseKind.POSTGRESQL) {
        assertThat(reloptions(connection)).contains("autovacuum_vacuum_scale_factor=0");
        assertThat(
                dev.outboxkit.relay.internal.dialect.RelaySql.of(OutboxDialect.named(kind.key()))
                    .readFloorUnavailable(connection, OutboxTable.DEFAULT))
            .as("the read floor after the Liquibase changelogs")
            .isNull();
      }
      if (kind != DatabaseKind.H2) {
        assertCdcTablesExist(connection);
      }
    }
  }

  /**
   * Auto-create runs at every start. On a schema that is there already it must not wait for a
   * writer's open transaction on the outbox table: a lock request that waits queues every later
   * writer behind it, so one slow transaction would stop all appends while a relay starts.
   */
  @ParameterizedTest
  @EnumSource(names = {"POSTGRESQL", "MARIADB", "MYSQL", "H2"})
  void createOnAnExistingSchemaDoesNotWaitForAnOpenWriteToTheOutbox(DatabaseKind kind)
      throws Exception {
    assumeAvailable(kind);
    OutboxDialect dialect = OutboxDialect.named(kind.key());
    try (TestDatabase database =
            TestServers.database(kind).createDatabase(name("openwrite", kind));
        Connection writer = database.dataSource().getConnection()) {
      try (Connection c = database.dataSource().getConnection()) {
        OutboxSchema.create(c, dialect, OutboxTable.DEFAULT);
        RelaySchema.create(c, dialect, OutboxTable.DEFAULT, LEASES, MEMBERS);
      }
      writer.setAutoCommit(false);
      Outbox.builder()
          .connectionProvider(
              new ConnectionProvider() {
                @Override
                public <T> T withTransactionConnection(ConnectionCallback<T> work)
                    throws SQLException {
                  return work.apply(writer);
                }
              })
          .dialect(dialect)
          .build()
          .append(OutboxMessage.of("orders", "k", "Happened", "{}"));
      ExecutorService starter =
          Executors.newSingleThreadExecutor(r -> new Thread(r, "relay-start-up"));
      try {
        Future<?> start =
            starter.submit(
                () -> {
                  try (Connection c = database.dataSource().getConnection()) {
                    OutboxSchema.create(c, dialect, OutboxTable.DEFAULT);
                    RelaySchema.create(c, dialect, OutboxTable.DEFAULT, LEASES, MEMBERS);
                  }
                  return null;
                });
        // Bounded: on an existing schema the statements take milliseconds unless they wait.
        assertThat(start)
            .as("auto-create at start-up while a writer's transaction on the outbox is open")
            .succeedsWithin(Duration.ofSeconds(20));
      } finally {
        writer.rollback();
        starter.shutdownNow();
      }
    }
  }

  private interface SchemaStep {
    void run(Connection c) throws Exception;
  }

  private static void createConcurrently(TestDatabase database, SchemaStep step) throws Exception {
    java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      List<java.util.concurrent.Future<?>> runs = new java.util.ArrayList<>();
      for (int i = 0; i < 2; i++) {
        runs.add(
            pool.submit(
                () -> {
                  try (Connection c = database.dataSource().getConnection()) {
                    start.await();
                    step.run(c);
                  }
                  return null;
                }));
      }
      for (java.util.concurrent.Future<?> run : runs) {
        run.get(60, java.util.concurrent.TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private static void assertCdcTablesExist(Connection connection) throws Exception {
    try (Statement s = connection.createStatement()) {
      s.executeQuery(
              "SELECT name, owner_id, epoch, expires_at, offsets, updated_at, session_lock_owner,"
                  + " heartbeat_at, relay_state, circuit_state FROM "
                  + CDC_STATE.qualifiedName())
          .close();
      if (!connection.getMetaData().getDatabaseProductName().toLowerCase().contains("postgres")) {
        s.executeQuery(
                "SELECT name, seq, record FROM "
                    + CdcSchema.historyTable(CDC_STATE).qualifiedName())
            .close();
      }
    }
  }

  private static void assumeAvailable(DatabaseKind kind) {
    String reason = TestServers.unavailableReason(kind);
    Assumptions.assumeTrue(reason == null, reason);
  }

  private static String name(String tool, DatabaseKind kind) {
    return "relay_"
        + tool
        + "_"
        + kind.key().toLowerCase(Locale.ROOT)
        + "_"
        + ProcessHandle.current().pid();
  }

  /** Whether the outbox table has the index of version 8 (any letter case the database keeps). */
  private static boolean hasPendingSeqIndex(Connection connection) throws Exception {
    return hasIndex(connection, "outbox_event_pending_seq_idx");
  }

  /** Whether the outbox table has the index of version 13 (PostgreSQL's only). */
  private static boolean hasParkedIndex(Connection connection) throws Exception {
    return hasIndex(connection, "outbox_event_parked_idx");
  }

  private static boolean hasIndex(Connection connection, String name) throws Exception {
    for (String table : List.of("outbox_event", "OUTBOX_EVENT")) {
      try (ResultSet rs =
          connection
              .getMetaData()
              .getIndexInfo(connection.getCatalog(), null, table, false, false)) {
        while (rs.next()) {
          String index = rs.getString("INDEX_NAME");
          if (index != null && index.equalsIgnoreCase(name)) {
            return true;
          }
        }
      }
    }
    return false;
  }
}
