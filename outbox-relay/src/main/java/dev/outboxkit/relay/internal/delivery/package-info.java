/**
 * The delivery core shared by the polling and the CDC relay: what to do with each event after a
 * send (acknowledge, hold back its key, retry with backoff, park), the circuit breaker, dead-letter
 * copies, metrics and logs. The modes differ only in how they read events and record progress. Not
 * API.
 */
@NullMarked
package dev.outboxkit.relay.internal.delivery;

import org.jspecify.annotations.NullMarked;
