/**
 * The relay's SQL on each database, one class per database, chosen once from the {@link
 * dev.outboxkit.outbox.spi.OutboxDialect} by {@link RelaySql#of}. Not an API.
 */
@NullMarked
package dev.outboxkit.relay.internal.dialect;

import org.jspecify.annotations.NullMarked;
