/** Extension points of the relay: where events are routed. */
@NullMarked
package dev.outboxkit.relay.spi;

import org.jspecify.annotations.NullMarked;
