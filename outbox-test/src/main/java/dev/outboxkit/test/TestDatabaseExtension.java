package dev.outboxkit.test;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * A fresh database for each test class, on a shared server of this JVM.
 *
 * <pre>{@code
 * class PaymentRepositoryIntegrationTests {
 *   @RegisterExtension
 *   static final TestDatabaseExtension db = TestDatabaseExtension.postgres();
 *
 *   @Test
 *   void storesPayments() {
 *     var jdbc = new JdbcTemplate(db.dataSource());
 *     ...
 *   }
 * }
 * }</pre>
 *
 * <p>Register it in a {@code static} field. The database is created before the first test of the
 * class and dropped after the last; test methods may also take a {@link TestDatabase} or {@link
 * DataSource} parameter.
 */
public final class TestDatabaseExtension
    implements ExecutionCondition, BeforeAllCallback, AfterAllCallback, ParameterResolver {

  private static final AtomicInteger sequence = new AtomicInteger();

  private final DatabaseKind kind;
  private @Nullable TestDatabase database;

  private TestDatabaseExtension(DatabaseKind kind) {
    this.kind = kind;
  }

  /** A database on {@link TestServers#postgres()}. */
  public static TestDatabaseExtension postgres() {
    return new TestDatabaseExtension(DatabaseKind.POSTGRESQL);
  }

  /** A database on {@link TestServers#mariadb()}. */
  public static TestDatabaseExtension mariadb() {
    return new TestDatabaseExtension(DatabaseKind.MARIADB);
  }

  /** A database on {@link TestServers#mysql()}; the tests are skipped when MySQL is unavailable. */
  public static TestDatabaseExtension mysql() {
    return new TestDatabaseExtension(DatabaseKind.MYSQL);
  }

  /** An in-memory H2 database. */
  public static TestDatabaseExtension h2() {
    return new TestDatabaseExtension(DatabaseKind.H2);
  }

  /** A database on the server of the given product. */
  public static TestDatabaseExtension of(DatabaseKind kind) {
    return new TestDatabaseExtension(kind);
  }

  /**
   * Skips the test class, with a message on how to enable it, when its server cannot run here;
   * fails it in the fast lane ({@link FastLane}).
   */
  @Override
  public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
    // Before the skip for a server that cannot run here: in the fast lane that would hide the
    // missing @ServerTest instead of reporting it.
    FastLane.refuseServer(kind.key());
    String reason = TestServers.unavailableReason(kind);
    return reason == null
        ? ConditionEvaluationResult.enabled(kind.key() + " is available")
        : ConditionEvaluationResult.disabled(reason);
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    database =
        TestServers.database(kind).createDatabase(databaseName(context.getRequiredTestClass()));
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (database != null) {
      database.close();
      database = null;
    }
  }

  /** The database of the running test class. */
  public TestDatabase database() {
    TestDatabase current = database;
    if (current == null) {
      throw new IllegalStateException(
          "No database yet: register TestDatabaseExtension with @RegisterExtension on a static field");
    }
    return current;
  }

  /** Shortcut for {@code database().dataSource()}. */
  public DataSource dataSource() {
    return database().dataSource();
  }

  /** Shortcut for {@code database().jdbcUrl()}. */
  public String jdbcUrl() {
    return database().jdbcUrl();
  }

  /** The database product. */
  public DatabaseKind kind() {
    return kind;
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext extension) {
    Class<?> type = parameter.getParameter().getType();
    return type == TestDatabase.class || type == DataSource.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext extension) {
    return parameter.getParameter().getType() == TestDatabase.class ? database() : dataSource();
  }

  private static String databaseName(Class<?> testClass) {
    String base = testClass.getSimpleName().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
    String suffix = "_" + ProcessHandle.current().pid() + "_" + sequence.incrementAndGet();
    int room = 63 - 2 - suffix.length();
    return "t_" + (base.length() > room ? base.substring(0, room) : base) + suffix;
  }
}
