package dev.outboxkit.outbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.DatabaseKind;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import java.sql.Connection;
import java.util.Locale;
import liquibase.command.CommandScope;
import liquibase.command.core.UpdateCommandStep;
import liquibase.command.core.helpers.DbUrlConnectionArgumentsCommandStep;
import liquibase.database.Database;
import liquibase.database.DatabaseFactory;
import liquibase.database.jvm.JdbcConnection;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The shipped scripts applied by the migration tools users run them with. */
@ServerTest
class SchemaMigrationIntegrationTests {

  @ParameterizedTest
  @EnumSource(names = {"POSTGRESQL", "MARIADB", "MYSQL", "H2"})
  void flywayAppliesTheShippedScriptWithItsOwnHistoryTable(DatabaseKind kind) throws Exception {
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
      assertThat(result.migrationsExecuted).isOne();
      try (Connection connection = database.dataSource().getConnection()) {
        OutboxSchema.verify(connection, dialect, OutboxTable.DEFAULT);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"POSTGRESQL", "MARIADB", "MYSQL", "H2"})
  void liquibaseAppliesTheShippedChangelog(DatabaseKind kind) throws Exception {
    assumeAvailable(kind);
    try (TestDatabase database =
            TestServers.database(kind).createDatabase(name("liquibase", kind));
        Connection connection = database.dataSource().getConnection()) {
      Database liquibaseDatabase =
          DatabaseFactory.getInstance()
              .findCorrectDatabaseImplementation(new JdbcConnection(connection));
      new CommandScope(UpdateCommandStep.COMMAND_NAME)
          .addArgumentValue(DbUrlConnectionArgumentsCommandStep.DATABASE_ARG, liquibaseDatabase)
          .addArgumentValue(
              UpdateCommandStep.CHANGELOG_FILE_ARG,
              "dev/outboxkit/schema/liquibase/outboxkit-changelog.xml")
          .execute();
      OutboxSchema.verify(connection, OutboxDialect.named(kind.key()), OutboxTable.DEFAULT);
    }
  }

  private static void assumeAvailable(DatabaseKind kind) {
    String reason = TestServers.unavailableReason(kind);
    Assumptions.assumeTrue(reason == null, reason);
  }

  private static String name(String tool, DatabaseKind kind) {
    return tool + "_" + kind.key().toLowerCase(Locale.ROOT) + "_" + ProcessHandle.current().pid();
  }
}
