/**
 * The OutboxKit write API: append events to the outbox table in the caller's database transaction.
 *
 * <p>Start with {@link dev.outboxkit.outbox.Outbox}. Events are described by {@link
 * dev.outboxkit.outbox.OutboxMessage} and stored as {@link dev.outboxkit.outbox.OutboxEvent}
 * envelopes. All failures are {@link dev.outboxkit.outbox.OutboxException}s.
 */
@NullMarked
package dev.outboxkit.outbox;

import org.jspecify.annotations.NullMarked;
