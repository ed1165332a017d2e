/**
 * The SQL dialects. Not an API: use the factories on {@link
 * dev.outboxkit.outbox.spi.OutboxDialect}.
 */
@NullMarked
package dev.outboxkit.outbox.internal.dialect;

import org.jspecify.annotations.NullMarked;
