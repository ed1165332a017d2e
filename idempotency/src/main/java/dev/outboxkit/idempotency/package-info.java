/**
 * Idempotency in the business transaction: {@link dev.outboxkit.idempotency.Idempotency} runs work
 * at most once per key, {@link dev.outboxkit.idempotency.Inbox} handles a consumed message at most
 * once in effect. Both record their key with the caller's own writes, so they commit and roll back
 * together.
 */
@NullMarked
package dev.outboxkit.idempotency;

import org.jspecify.annotations.NullMarked;
