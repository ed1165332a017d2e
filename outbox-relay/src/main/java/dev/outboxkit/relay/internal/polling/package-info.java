/**
 * The polling relay: partition leases, the claim-send-mark loop and its wake-up signals. Not API.
 */
@NullMarked
package dev.outboxkit.relay.internal.polling;

import org.jspecify.annotations.NullMarked;
