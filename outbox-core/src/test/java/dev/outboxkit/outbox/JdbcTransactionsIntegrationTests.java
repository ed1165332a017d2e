package dev.outboxkit.outbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@ServerTest
class JdbcTransactionsIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private final JdbcTransactions tx = JdbcTransactions.of(db.dataSource());

  @BeforeEach
  void table() throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS note (text VARCHAR(100))");
      s.execute("DELETE FROM note");
    }
  }

  @Test
  void commitListenersOfTheOutboxRunOnceTheAppendingTransactionCommitsAndNeverOnRollback()
      throws SQLException {
    try (Connection c = db.dataSource().getConnection()) {
      OutboxSchema.create(
          c, dev.outboxkit.outbox.spi.OutboxDialect.postgresql(), OutboxTable.DEFAULT);
    }
    List<String> woken = new ArrayList<>();
    Outbox outbox =
        Outbox.builder()
            .connectionProvider(tx)
            .dialect(dev.outboxkit.outbox.spi.OutboxDialect.postgresql())
            .commitListener(() -> woken.add("relay"))
            .build();
    tx.execute(
        c -> {
          outbox.append("Order", "o-1", "OrderPlaced", "{}");
          assertThat(woken).as("not before commit").isEmpty();
        });
    assertThat(woken).containsExactly("relay");
    assertThatThrownBy(
            () ->
                tx.execute(
                    c -> {
                      outbox.append("Order", "o-2", "OrderPlaced", "{}");
                      throw new IllegalStateException("roll back");
                    }))
        .hasMessage("roll back");
    assertThat(woken).containsExactly("relay");
  }

  @Test
  void nestedCallsJoinTheOuterTransaction() throws SQLException {
    assertThatThrownBy(
            () ->
                tx.execute(
                    outer -> {
                      insert(outer, "outer");
                      tx.execute(
                          inner -> {
                            assertThat(inner).isSameAs(outer);
                            insert(inner, "inner");
                          });
                      throw new IllegalStateException("fail after both");
                    }))
        .hasMessage("fail after both");
    assertThat(notes()).isEmpty();
  }

  @Test
  void afterCommitCallbacksRunAfterCommitOnlyAndTheirFailuresDoNotUndoIt() throws SQLException {
    List<String> calls = new ArrayList<>();
    tx.execute(
        c -> {
          insert(c, "kept");
          tx.afterCommit(() -> calls.add("first"));
          tx.afterCommit(
              () -> {
                throw new IllegalStateException("callback bug");
              });
          tx.afterCommit(() -> calls.add("third"));
          assertThat(calls).isEmpty();
        });
    assertThat(calls).containsExactly("first", "third");
    assertThat(notes()).containsExactly("kept");

    List<String> rolledBack = new ArrayList<>();
    assertThatThrownBy(
            () ->
                tx.execute(
                    c -> {
                      tx.afterCommit(() -> rolledBack.add("never"));
                      throw new SQLException("boom");
                    }))
        .isInstanceOf(OutboxStoreException.class)
        .hasMessageContaining("boom");
    assertThat(rolledBack).isEmpty();
  }

  @Test
  void aSneakyCheckedExceptionStillRollsBack() throws SQLException {
    assertThatThrownBy(
            () ->
                tx.execute(
                    c -> {
                      insert(c, "half-done");
                      sneakyThrow(new Exception("checked, from a Kotlin lambda"));
                    }))
        .hasMessage("checked, from a Kotlin lambda");
    assertThat(notes()).isEmpty();
  }

  @SuppressWarnings("unchecked")
  private static <E extends Throwable> void sneakyThrow(Throwable e) throws E {
    throw (E) e;
  }

  @Test
  void theConnectionIsReleasedAndUnboundAfterwards() {
    tx.execute(c -> insert(c, "x"));
    assertThatThrownBy(() -> tx.withTransactionConnection(c -> null))
        .isInstanceOf(NoActiveTransactionException.class);
    assertThatThrownBy(() -> tx.afterCommit(() -> {}))
        .isInstanceOf(NoActiveTransactionException.class);
  }

  private static void insert(Connection c, String text) throws SQLException {
    try (var s = c.prepareStatement("INSERT INTO note (text) VALUES (?)")) {
      s.setString(1, text);
      s.executeUpdate();
    }
  }

  private static List<String> notes() throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT text FROM note")) {
      List<String> texts = new ArrayList<>();
      while (rs.next()) {
        texts.add(rs.getString(1));
      }
      return texts;
    }
  }
}
