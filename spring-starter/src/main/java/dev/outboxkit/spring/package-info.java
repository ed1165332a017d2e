/**
 * Spring integration of the outbox: the transaction binding, and publishing Spring application
 * events into the outbox ({@link dev.outboxkit.spring.OutboxApplicationEvent}).
 */
@NullMarked
package dev.outboxkit.spring;

import org.jspecify.annotations.NullMarked;
