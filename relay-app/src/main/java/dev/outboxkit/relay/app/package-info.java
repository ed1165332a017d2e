/** The standalone relay application. */
@NullMarked
package dev.outboxkit.relay.app;

import org.jspecify.annotations.NullMarked;
