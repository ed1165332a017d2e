package dev.outboxkit.chaos;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The faults the kit knows, by name. */
final class Faults {

  private static final Map<String, Fault> ALL = new LinkedHashMap<>();

  static {
    for (Fault fault :
        List.of(
            new KillRelayFault(),
            new PauseRelayFault(),
            new KillConnectionsFault(),
            new RestartDatabaseFault(),
            new RestartBrokerFault(),
            new KillRelayThreadFault(),
            new MissingDeadLetterTopicFault(),
            new AclRefusalFault())) {
      ALL.put(fault.name(), fault);
    }
  }

  private Faults() {}

  /** Every known fault's name, in a stable order. */
  static List<String> names() {
    return List.copyOf(ALL.keySet());
  }

  /** The faults of these names; a clear error naming the known ones for an unknown name. */
  static List<Fault> named(List<String> names) {
    return names.stream()
        .map(
            name -> {
              Fault fault = ALL.get(name);
              if (fault == null) {
                throw new IllegalArgumentException(
                    "--faults: unknown fault '" + name + "'; known: " + String.join(", ", names()));
              }
              return fault;
            })
        .toList();
  }
}
