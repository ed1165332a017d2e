/**
 * Relay internals shared by the polling mode: SQL on the outbox and lease tables, metrics. Not API.
 */
@NullMarked
package dev.outboxkit.relay.internal;

import org.jspecify.annotations.NullMarked;
