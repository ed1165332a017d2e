package dev.outboxkit.relay.cdc;

import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.internal.RelaySettings;

/**
 * The one way from the API ({@link OutboxRelay#builder()}) to the CDC implementation, which stays
 * package-private. Not API.
 */
public final class CdcRelays {

  private CdcRelays() {}

  /** A CDC relay with sealed settings; it does no I/O until {@link OutboxRelay#start()}. */
  public static OutboxRelay create(RelaySettings settings, CdcOptions options) {
    return new CdcRelay(settings, options);
  }
}
