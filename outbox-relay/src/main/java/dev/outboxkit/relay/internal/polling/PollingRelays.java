package dev.outboxkit.relay.internal.polling;

import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.internal.RelaySettings;

/**
 * The one way from the API ({@link OutboxRelay#builder()}) to the polling implementation, which
 * stays package-private. Not API.
 */
public final class PollingRelays {

  private PollingRelays() {}

  /** A polling relay with sealed settings; it does no I/O until {@link OutboxRelay#start()}. */
  public static OutboxRelay create(RelaySettings settings) {
    return new PollingRelay(settings);
  }
}
