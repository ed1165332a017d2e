/**
 * Helpers of OutboxKit's own test suite that users do not need: a TCP proxy that stalls chosen
 * connections ({@link dev.outboxkit.test.StallingProxy}) and a Kafka broker behind it ({@link
 * dev.outboxkit.test.ProxiedKafkaBroker}), the pool settings and error checks of the failover tests
 * ({@link dev.outboxkit.test.FailoverPools}, {@link dev.outboxkit.test.FailoverErrors}), and the
 * reader of the shipped SQL scripts ({@link dev.outboxkit.test.ShippedScripts}), and instances that
 * start at the same moment ({@link dev.outboxkit.test.ConcurrentStarts}).
 *
 * <p>Same package as the published {@code outbox-test}, whose servers these build on; this module
 * is not published, and {@code outbox-test} never refers to it ({@code
 * OutboxTestIndependenceTests}).
 */
@NullMarked
package dev.outboxkit.test;

import org.jspecify.annotations.NullMarked;
