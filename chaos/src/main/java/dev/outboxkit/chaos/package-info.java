/**
 * The chaos kit: a runnable checker of the relay's guarantees. {@link
 * dev.outboxkit.chaos.ChaosMain} starts (or connects to) a database and Kafka, runs writers and
 * standalone relay processes, injects faults in a loop and checks a ledger of every event at the
 * end. See {@code docs/chaos.md}.
 */
@NullMarked
package dev.outboxkit.chaos;

import org.jspecify.annotations.NullMarked;
