/**
 * The operator CLI of the standalone relay jar: {@code java -jar outbox-relay-app.jar status |
 * leases | check | parked ...}, configured like the relay (same properties and environment
 * variables), reading and changing the outbox through the database. See docs/operations.md.
 */
@NullMarked
package dev.outboxkit.relay.app.cli;

import org.jspecify.annotations.NullMarked;
