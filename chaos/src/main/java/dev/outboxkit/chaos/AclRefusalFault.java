package dev.outboxkit.chaos;

import java.time.Duration;
import java.util.List;
import org.apache.kafka.common.acl.AclOperation;
import org.jspecify.annotations.Nullable;

/**
 * A broker ACL refusal, as a faulty ACL roll-out causes: the kit revokes the relays' principal's
 * {@code WRITE} on the run's topic for twice the lease TTL plus a second, then grants it again.
 * Every send meanwhile fails with {@code TopicAuthorizationException}; the relays must count it
 * against nothing (an access error is not the event's fault), park nothing and publish everything
 * once the ACL is back. A healthy event parked shows as lost in the ledger check. Needs the
 * embedded broker, which then runs with SASL/PLAIN and the {@code StandardAuthorizer}; a cluster
 * named with {@code --bootstrap-servers} is not this kit's to re-configure.
 */
final class AclRefusalFault implements Fault {

  static final String NAME = "acl-refusal";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public @Nullable String unavailableReason(FaultContext context) {
    if (context.environment().restartableBroker() == null) {
      return "the Kafka cluster is not one this run started (--bootstrap-servers)";
    }
    return context.environment().kafkaAuthorizes()
        ? null
        : "the embedded broker runs without authorization";
  }

  @Override
  public FaultRecord inject(FaultContext context) {
    var write = List.of(ChaosEnvironment.relayAcl(context.topic(), AclOperation.WRITE));
    long start = context.clock().millis();
    context.environment().acls(false, write);
    try {
      Pause.of(context.config().leaseTtl().multipliedBy(2).plus(Duration.ofSeconds(1)));
    } finally {
      context.environment().acls(true, write);
    }
    return new FaultRecord(
        name(),
        "WRITE on " + context.topic(),
        start,
        context.clock().millis(),
        FaultRecord.Measure.RECOVERY,
        context.allPartitions().get(),
        context.config().relays());
  }
}
