package dev.outboxkit.chaos;

/** How the relays find new events: by polling the outbox table or by change data capture. */
public enum Mode {
  POLLING,
  CDC
}
