package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import io.debezium.relational.history.SchemaHistory;
import java.util.Properties;
import org.apache.kafka.connect.storage.OffsetBackingStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The engine properties that decide how much work and waiting each change costs. */
class CdcEngineConfigTests {

  private static Properties config(String dialect, String url) {
    CdcOptions options = CdcOptions.builder(url, "u", "pw").build();
    return CdcEngineConfig.of(
        CdcTestSettings.postgres(null, "config-test"),
        options,
        OutboxDialect.named(dialect),
        "binding");
  }

  private static Properties config(String dialect) {
    return config(
        dialect,
        dialect.equals("postgresql")
            ? "jdbc:postgresql://db:5432/app"
            : "jdbc:" + dialect + "://db:3306/app");
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb", "mysql"})
  void skipsTheRelaysOwnUpdatesAndDeletesInsideTheConnector(String dialect) {
    assertThat(config(dialect).getProperty("skipped.operations")).isEqualTo("u,d,t");
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb", "mysql"})
  void anEngineBatchIsAtMostOneRelayBatchSoACrashResendsAtMostOneBatch(String dialect) {
    // CdcTestSettings: batch size 100.
    assertThat(config(dialect).getProperty("max.batch.size")).isEqualTo("100");
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb", "mysql"})
  void aChangeWaitsAtMostAMillisecondForABatchToFill(String dialect) {
    assertThat(config(dialect).getProperty("poll.interval.ms")).isEqualTo("1");
  }

  /**
   * Issue 23: Debezium's default wait before restarting the connector after a retriable error (10
   * s) was the bulk of every recovery after killed connections and database restarts in the chaos
   * runs.
   */
  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb", "mysql"})
  void aRetriableErrorRestartsTheConnectorAfterOneSecond(String dialect) {
    assertThat(config(dialect).getProperty("retriable.restart.connector.wait.ms"))
        .isEqualTo("1000");
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb", "mysql"})
  void aUsersDebeziumPropertyStillWins(String dialect) {
    CdcOptions options =
        CdcOptions.builder(
                dialect.equals("postgresql")
                    ? "jdbc:postgresql://db:5432/app"
                    : "jdbc:" + dialect + "://db:3306/app",
                "u",
                "pw")
            .debeziumProperty("skipped.operations", "t")
            .debeziumProperty("poll.interval.ms", "250")
            .debeziumProperty("retriable.restart.connector.wait.ms", "5000")
            .build();
    Properties p =
        CdcEngineConfig.of(
            CdcTestSettings.postgres(null, "config-test"),
            options,
            OutboxDialect.named(dialect),
            "binding");
    assertThat(p.getProperty("skipped.operations")).isEqualTo("t");
    assertThat(p.getProperty("poll.interval.ms")).isEqualTo("250");
    assertThat(p.getProperty("retriable.restart.connector.wait.ms")).isEqualTo("5000");
  }

  /**
   * A binlog connection the server drops is reconnected by the binlog client's keep-alive thread
   * only: within two keep-alive intervals, Debezium's default of one minute is far too long (the
   * MariaDB chaos run, seed 1934). A user's own value still wins.
   */
  @ParameterizedTest
  @ValueSource(strings = {"mariadb", "mysql"})
  void aDroppedBinlogConnectionIsReconnectedWithinSeconds(String dialect) {
    assertThat(config(dialect).getProperty("connect.keep.alive.interval.ms")).isEqualTo("5000");
    CdcOptions options =
        CdcOptions.builder("jdbc:" + dialect + "://db:3306/app", "u", "pw")
            .debeziumProperty("connect.keep.alive.interval.ms", "30000")
            .build();
    Properties p =
        CdcEngineConfig.of(
            CdcTestSettings.postgres(null, "config-test"),
            options,
            OutboxDialect.named(dialect),
            "binding");
    assertThat(p.getProperty("connect.keep.alive.interval.ms")).isEqualTo("30000");
  }

  /**
   * Kafka Connect and Debezium create the state stores from the class names in the engine
   * properties, through a public constructor without arguments, from their own packages: the
   * classes stay public, and the configured names are the classes' names wherever they live.
   */
  @ParameterizedTest
  @ValueSource(strings = {"mariadb", "mysql"})
  void theConfiguredStateStoresLoadByName(String dialect) throws ReflectiveOperationException {
    Properties p = config(dialect);

    Class<?> offsets = Class.forName(p.getProperty("offset.storage"));
    Class<?> history = Class.forName(p.getProperty("schema.history.internal"));

    assertThat(offsets).isEqualTo(DatabaseOffsetStore.class);
    assertThat(history).isEqualTo(DatabaseSchemaHistory.class);
    assertThat(offsets.getConstructor().newInstance()).isInstanceOf(OffsetBackingStore.class);
    assertThat(history.getConstructor().newInstance()).isInstanceOf(SchemaHistory.class);
  }

  @Test
  void postgresNeedsNoSchemaHistoryButLoadsTheOffsetStoreByName()
      throws ReflectiveOperationException {
    Properties p = config("postgresql");

    assertThat(p.getProperty("schema.history.internal")).isNull();
    assertThat(Class.forName(p.getProperty("offset.storage")).getConstructor().newInstance())
        .isInstanceOf(DatabaseOffsetStore.class);
  }

  /**
   * Review: word boundaries around the table's name could miss a name that begins or ends with a
   * character that is no word character in a regex ({@code $}, {@code -}). The name cannot:
   * OutboxTable allows letters, digits and underscores only. However the binlog writes it (bare, in
   * backticks, in ANSI double quotes, schema-qualified, after a line break) its statements are
   * parsed, and so are those of the shadow tables online schema change tools alter and rename into
   * its place (gh-ost, pt-online-schema-change, Spirit, LHM): with word boundaries their {@code
   * ALTER} was skipped and the engine stopped at the first row after the rename. A name that goes
   * on with a letter or digit is another table.
   */
  @Test
  void theOutboxTableIsFoundHoweverTheBinlogQuotesOrQualifiesIt() {
    java.util.function.Predicate<String> ignored =
        io.debezium.function.Predicates.includes(
            MySqlChangeLog.ddlFilter(dev.outboxkit.outbox.OutboxTable.of("app.outbox_2024")),
            java.util.regex.Pattern.CASE_INSENSITIVE | java.util.regex.Pattern.DOTALL);

    assertThat(
            java.util.List.of(
                "ALTER TABLE outbox_2024 ADD x INT",
                "ALTER TABLE `outbox_2024` ADD x INT",
                "ALTER TABLE app.outbox_2024 ADD x INT",
                "ALTER TABLE `app`.`outbox_2024` ADD x INT",
                "ALTER TABLE \"app\".\"outbox_2024\" ADD x INT",
                "ALTER TABLE\n\t`outbox_2024`\nADD x INT",
                "CREATE TABLE outbox_2024(id BIGINT)",
                "DROP TABLE outbox_2024;",
                "create /* gh-ost */ table `app`.`_outbox_2024_gho` like `app`.`outbox_2024`",
                "alter /* gh-ost */ table `app`.`_outbox_2024_gho` add column x int",
                "ALTER TABLE `app`.`_outbox_2024_new` ADD COLUMN x INT",
                "ALTER TABLE `app`.`__outbox_2024_new` ADD COLUMN x INT",
                "ALTER TABLE `lhmn_outbox_2024` ADD COLUMN x INT",
                "ALTER TABLE outbox_2024$new ADD COLUMN x INT"))
        .noneMatch(ignored);
    assertThat(
            java.util.List.of(
                "ALTER TABLE outbox_20240 ADD x INT",
                "ALTER TABLE myoutbox_2024 ADD x INT",
                "ALTER TABLE outbox_2024x ADD x INT",
                "SET DEFAULT ROLE outboxkit_writer FOR 'outbox_2024a'@'%'"))
        .allMatch(ignored);
    for (String name : java.util.List.of("outbox$event", "outbox-event", "$outbox", "outbox-")) {
      org.assertj.core.api.Assertions.assertThatIllegalArgumentException()
          .isThrownBy(() -> dev.outboxkit.outbox.OutboxTable.of(name));
    }
  }

  /**
   * Issue 20: the binlog connector parses every statement of the server's binlog and stopped on
   * MariaDB's {@code SET DEFAULT ROLE ... FOR ...}. Statements that do not name the outbox table
   * are not parsed at all (compiled here as Debezium compiles the list); those that do, however
   * written, still are; Debezium's own list is kept, and a user's own list still wins.
   */
  @ParameterizedTest
  @ValueSource(strings = {"mariadb", "mysql"})
  void onlyStatementsThatNameTheOutboxTableAreParsed(String dialect) {
    String filter = config(dialect).getProperty(SchemaHistory.DDL_FILTER.name());
    java.util.function.Predicate<String> ignored =
        io.debezium.function.Predicates.includes(
            filter, java.util.regex.Pattern.CASE_INSENSITIVE | java.util.regex.Pattern.DOTALL);

    // Debezium's key: its documented "schema.history.internal.ddl.filter" is read by nothing.
    assertThat(SchemaHistory.DDL_FILTER.name())
        .isEqualTo("internal.schema.history.internal.ddl.filter");
    assertThat(filter).startsWith(SchemaHistory.DDL_FILTER.defaultValueAsString() + ",");
    assertThat(
            java.util.List.of(
                "SET DEFAULT ROLE 'outboxkit_writer' FOR 'okt_writer'@'%'",
                "SET DEFAULT ROLE outboxkit_writer TO 'payment_app'@'%'",
                "CREATE TABLE orders (id BIGINT PRIMARY KEY)",
                "ALTER TABLE outboxevent ADD COLUMN x INT",
                "CREATE DATABASE billing"))
        .allMatch(ignored);
    assertThat(
            java.util.List.of(
                "ALTER TABLE outbox_event ADD COLUMN x INT",
                "ALTER TABLE `app`.`outbox_event` ADD COLUMN x INT",
                "alter table OUTBOX_EVENT\n  drop column x",
                "SET STATEMENT max_statement_time=60 FOR ALTER TABLE outbox_event ADD x INT",
                "RENAME TABLE outbox_event TO outbox_old, outbox_new TO outbox_event",
                "DROP TABLE IF EXISTS outbox_event",
                "ALTER TABLE outbox_event_archive ADD COLUMN x INT"))
        .noneMatch(ignored);

    CdcOptions own =
        CdcOptions.builder("jdbc:" + dialect + "://db:3306/app", "u", "pw")
            .debeziumProperty(SchemaHistory.DDL_FILTER.name(), "FLUSH RELAY LOGS.*")
            .build();
    assertThat(
            CdcEngineConfig.of(
                    CdcTestSettings.postgres(null, "config-test"),
                    own,
                    OutboxDialect.named(dialect),
                    "binding")
                .getProperty(SchemaHistory.DDL_FILTER.name()))
        .isEqualTo("FLUSH RELAY LOGS.*");
  }
}
