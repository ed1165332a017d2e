package dev.outboxkit.chaos;

import org.jspecify.annotations.Nullable;

/**
 * One kind of fault the run injects. Each injection returns when the fault is over (a killed relay
 * replaced, a frozen one woken, a database back), so the next cycle starts from a whole system.
 */
interface Fault {

  /** The name on the command line and in the report, e.g. {@code kill-relay}. */
  String name();

  /** Why this fault cannot run in this run (e.g. the user's own database), or null when it can. */
  @Nullable String unavailableReason(FaultContext context);

  /** Injects the fault once and returns what happened, for the ledger check. */
  FaultRecord inject(FaultContext context);
}
