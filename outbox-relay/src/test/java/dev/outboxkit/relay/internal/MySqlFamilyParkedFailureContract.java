package dev.outboxkit.relay.internal;

import java.util.List;

/**
 * MySQL's and MariaDB's answers to {@link ParkedFailureContract}: one driver family, one message.
 */
abstract class MySqlFamilyParkedFailureContract extends ParkedFailureContract {

  @Override
  String dropTheKey() {
    return "DROP INDEX parked_failure_key_status ON outbox_event";
  }

  @Override
  List<String> namedInTheReason() {
    return List.of("Duplicate entry", "parked_failure_key_status", "23000", "1062");
  }

  @Override
  List<String> namedInTheException() {
    return List.of("parked_failure_key_status", "1062");
  }
}
