package dev.outboxkit.idempotency.internal.dialect;

import java.time.Duration;
import java.util.List;

/**
 * Idempotency keys and the inbox on MariaDB: MySQL's tables and statements, with the lock timeout
 * carried by the bounded statement itself.
 *
 * <p>{@code SET STATEMENT innodb_lock_wait_timeout = n FOR <statement>} sets the timeout for that
 * one statement and gives the session its own back when the statement ends, failed or not. So a key
 * claim (or the removal of an expired key) is one round trip without {@code allowMultiQueries} in
 * the pool's URL, where MySQL needs three, and it leaves no session state behind (nothing for a
 * proxy to pin). A failed statement does not abort an InnoDB transaction, so no savepoint is needed
 * around it; a deadlock or a timeout under {@code innodb_rollback_on_timeout} is still recognised
 * as the loss of the whole transaction.
 */
final class MariaDbIdempotencyDialect extends MySqlIdempotencyDialect {

  static final List<String> NAMES = List.of("mariadb");

  @Override
  public Pipelined boundedInOneRoundTrip(String statement, Duration timeout) {
    // A number we computed, not input: SET STATEMENT takes literals only, no parameter.
    return new Pipelined(
        "SET STATEMENT innodb_lock_wait_timeout = " + seconds(timeout) + " FOR " + statement,
        0,
        null);
  }
}
