package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.UUID;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;

/**
 * Review finding: the audit probe's rollback ran in a {@code finally} block, so when the connection
 * broke during the probe, the rollback's own failure replaced the probe's error, and the operator
 * saw "connection is broken" instead of what the probe found. The probe's error must be thrown with
 * the rollback failure attached as suppressed.
 */
class AuditAccessTests {

  @Test
  void aFailedRollbackNeverHidesWhyTheProbeFailed() throws Exception {
    JdbcDataSource h2 = new JdbcDataSource();
    h2.setURL("jdbc:h2:mem:audit-access-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
    try (Connection real = h2.getConnection()) {
      OutboxDialect dialect = OutboxDialect.detect(real);
      // No audit table: the probe insert fails for a reason other than a missing privilege, and
      // the connection then breaks, so the rollback fails too.
      Connection breaksOnRollback = failingRollback(real);

      assertThatThrownBy(
              () ->
                  AuditAccess.probe(
                      breaksOnRollback,
                      dialect,
                      OutboxTable.of("outbox_audit"),
                      "outboxkit_relay",
                      "outboxkit-roles-relay.sql"))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("Could not check the audit table")
          .satisfies(
              e ->
                  assertThat(e.getSuppressed())
                      .singleElement()
                      .satisfies(
                          s -> assertThat(s).hasMessage("the connection broke during rollback")));
    }
  }

  @Test
  void aFailedRollbackAfterASuccessfulProbeIsReported() throws Exception {
    JdbcDataSource h2 = new JdbcDataSource();
    h2.setURL("jdbc:h2:mem:audit-access-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
    try (Connection real = h2.getConnection()) {
      OutboxDialect dialect = OutboxDialect.detect(real);
      dev.outboxkit.relay.AuditSchema.create(real, dialect, OutboxTable.of("outbox_audit"));
      assertThatThrownBy(
              () ->
                  AuditAccess.probe(
                      failingRollback(real),
                      dialect,
                      OutboxTable.of("outbox_audit"),
                      "outboxkit_relay",
                      "outboxkit-roles-relay.sql"))
          .isInstanceOf(SQLException.class)
          .hasMessage("the connection broke during rollback");
    }
  }

  /** The real H2 connection, except that {@code rollback()} fails as on a broken connection. */
  private static Connection failingRollback(Connection real) {
    return (Connection)
        Proxy.newProxyInstance(
            AuditAccessTests.class.getClassLoader(),
            new Class<?>[] {Connection.class},
            (proxy, method, args) -> {
              if (method.getName().equals("rollback") && args == null) {
                throw new SQLException("the connection broke during rollback", "08006");
              }
              try {
                return method.invoke(real, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }
}
