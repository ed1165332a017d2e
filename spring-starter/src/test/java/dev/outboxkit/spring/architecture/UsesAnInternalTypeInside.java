package dev.outboxkit.spring.architecture;

import dev.outboxkit.outbox.internal.HeadersCodec;

/**
 * A fixture of {@link ModuleBoundaryRuleTests}: a public type of an API package that uses an
 * internal type only inside its body, which the API rule allows (the module rule decides whether
 * the module may use it at all).
 */
public final class UsesAnInternalTypeInside {

  /** Keeps to the rule: the signature names only JDK types. */
  public int headerCount(String json) {
    return HeadersCodec.decode(json).size();
  }
}
