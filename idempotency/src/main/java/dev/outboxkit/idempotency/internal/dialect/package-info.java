/**
 * The SQL of idempotency keys and the inbox on each database, one class per database, chosen once
 * from the {@link dev.outboxkit.outbox.spi.OutboxDialect} by {@link IdempotencyDialect#of}. Not an
 * API.
 */
@NullMarked
package dev.outboxkit.idempotency.internal.dialect;

import org.jspecify.annotations.NullMarked;
