/**
 * Extension points of the write path: joining the caller's transaction ({@link
 * dev.outboxkit.outbox.spi.ConnectionProvider}), turning payloads into bytes ({@link
 * dev.outboxkit.outbox.spi.PayloadSerializer}), encrypting them before they are stored ({@link
 * dev.outboxkit.outbox.spi.PayloadCodec}) and the SQL of each database ({@link
 * dev.outboxkit.outbox.spi.OutboxDialect}).
 */
@NullMarked
package dev.outboxkit.outbox.spi;

import org.jspecify.annotations.NullMarked;
