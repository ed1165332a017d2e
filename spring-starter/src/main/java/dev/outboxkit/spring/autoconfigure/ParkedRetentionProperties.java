package dev.outboxkit.spring.autoconfigure;

import java.time.Duration;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Retention of parked events, under {@code outbox.relay.parked.*}.
 *
 * @param retention How long parked events are kept, counted from the event's creation, before a
 *     scheduled purge deletes them (each batch recorded in the audit trail). Unset (the default):
 *     parked events are kept until an operator replays or purges them. At least 1 minute; choose
 *     well above the longest time an event can take to be parked.
 * @param checkInterval Time between retention runs.
 * @param batchSize Parked events deleted per transaction, 1 to 10000.
 */
@ConfigurationProperties("outbox.relay.parked")
public record ParkedRetentionProperties(
    @Nullable Duration retention,
    @DefaultValue("1h") Duration checkInterval,
    @DefaultValue("500") int batchSize) {}
