package dev.outboxkit.idempotency.internal.dialect;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The purge's locking read and delete, to the letter, for each built-in dialect: the SQL shape is
 * written once in {@link IdempotencyDialect}, and MySQL and MariaDB only add their index hint.
 */
class PurgeStatementsTests {

  private static final List<String> KEY = List.of("scope", "idem_key");

  private static final String TWO_KEYS =
      "((scope = ? AND idem_key = ?) OR (scope = ? AND idem_key = ?))";

  @Test
  void postgresAndH2LockAndDeleteByThePrimaryKeyWithoutAHint() {
    for (IdempotencyDialect dialect :
        List.of(new PostgresIdempotencyDialect(), new H2IdempotencyDialect())) {
      assertThat(dialect.lockByKeys("idempotency_key", KEY, 2))
          .isEqualTo(
              "SELECT scope, idem_key FROM idempotency_key WHERE expires_at < ? AND "
                  + TWO_KEYS
                  + " FOR UPDATE SKIP LOCKED");
      assertThat(dialect.deleteByKeys("idempotency_key", KEY, 2))
          .isEqualTo("DELETE FROM idempotency_key WHERE expires_at < ? AND " + TWO_KEYS);
    }
  }

  @Test
  void mySqlAndMariaDbForceThePrimaryKeyInTheLockingReadAndTheDelete() {
    for (IdempotencyDialect dialect :
        List.of(new MySqlIdempotencyDialect(), new MariaDbIdempotencyDialect())) {
      assertThat(dialect.lockByKeys("idempotency_key", KEY, 2))
          .isEqualTo(
              "SELECT scope, idem_key FROM idempotency_key FORCE INDEX (PRIMARY)"
                  + " WHERE expires_at < ? AND "
                  + TWO_KEYS
                  + " FOR UPDATE SKIP LOCKED");
      assertThat(dialect.deleteByKeys("idempotency_key", KEY, 2))
          .isEqualTo(
              "DELETE t FROM idempotency_key t FORCE INDEX (PRIMARY) WHERE expires_at < ? AND "
                  + TWO_KEYS);
    }
  }
}
