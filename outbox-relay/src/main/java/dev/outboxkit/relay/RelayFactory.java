package dev.outboxkit.relay;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.internal.RelaySettings;
import dev.outboxkit.relay.internal.cdc.CdcRelays;
import dev.outboxkit.relay.internal.dialect.RelaySql;
import dev.outboxkit.relay.internal.polling.PollingRelays;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.jspecify.annotations.Nullable;

/**
 * The one way from the relay's API to its implementations: {@link OutboxRelay.Builder#build}
 * validates what depends on several options here (a configured dialect must be one the relay has
 * SQL for) and hands the settings to the polling or the CDC factory; the CDC factory checks that
 * Debezium is on the class path before it loads a Debezium class. Does no I/O.
 */
final class RelayFactory {

  private RelayFactory() {}

  /** The polling relay, or the CDC relay when {@code cdc} is set. */
  static OutboxRelay create(RelaySettings settings, @Nullable CdcOptions cdc) {
    OutboxDialect dialect = settings.dialect();
    if (dialect != null) {
      RelaySql.of(dialect); // a dialect the relay has no SQL for fails here, naming what it lacks
    }
    if (cdc == null) {
      return PollingRelays.create(settings);
    }
    return CdcRelays.create(settings, cdc);
  }

  /**
   * Refuses producer properties that would weaken delivery or per-key order, or that the relay sets
   * itself.
   *
   * @throws IllegalStateException naming the property and what to do
   */
  /** The CDC relay's start-up checks, for {@link RelayInspection#check(CdcOptions)}. */
  static java.util.List<RelayInspection.Check> cdcChecks(
      javax.sql.DataSource dataSource,
      dev.outboxkit.outbox.spi.OutboxDialect dialect,
      dev.outboxkit.outbox.OutboxTable outbox,
      CdcOptions options)
      throws java.sql.SQLException {
    return dev.outboxkit.relay.internal.cdc.CdcRelays.checks(dataSource, dialect, outbox, options);
  }

  static RelayInspection.CdcState cdcState(
      java.sql.Connection c,
      dev.outboxkit.outbox.spi.OutboxDialect dialect,
      @org.jspecify.annotations.Nullable CdcOptions options)
      throws java.sql.SQLException {
    return dev.outboxkit.relay.internal.cdc.CdcRelays.state(c, dialect, options);
  }

  static void checkProducerProperties(Map<String, Object> producerProperties) {
    checkProducerProperty(producerProperties, ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    checkProducerProperty(producerProperties, ProducerConfig.ACKS_CONFIG, "all", "-1");
    Object inFlight = producerProperties.get(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION);
    if (inFlight != null && !inFlight.toString().matches("[1-5]")) {
      throw new IllegalStateException(
          "Producer property max.in.flight.requests.per.connection="
              + inFlight
              + " breaks per-key order: the idempotent producer keeps order only with 1 to 5"
              + " requests in flight. Remove the property or set it to at most 5.");
    }
    for (String timing :
        List.of(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, ProducerConfig.MAX_BLOCK_MS_CONFIG)) {
      if (producerProperties.containsKey(timing)) {
        throw new IllegalStateException(
            "Producer property "
                + timing
                + " is set by the relay from its send timeout and lease TTL: a send must end"
                + " before the lease can pass to another instance. Remove the property and set"
                + " outbox.relay.send-timeout (sendTimeout(Duration)) instead.");
      }
    }
    if (producerProperties.containsKey(ProducerConfig.TRANSACTIONAL_ID_CONFIG)) {
      throw new IllegalStateException(
          "Producer property transactional.id is set by the relay itself, one per outbox"
              + " partition, when transactional fencing is on (transactionalFencing(prefix),"
              + " outbox.relay.kafka.transactional-id-prefix). Remove the property.");
    }
  }

  private static void checkProducerProperty(
      Map<String, Object> producerProperties, String name, String... allowed) {
    Object value = producerProperties.get(name);
    if (value != null && !Arrays.asList(allowed).contains(value.toString())) {
      throw new IllegalStateException(
          "Producer property "
              + name
              + "="
              + value
              + " would weaken delivery; the relay needs "
              + allowed[0]
              + ". Remove the property.");
    }
  }
}
