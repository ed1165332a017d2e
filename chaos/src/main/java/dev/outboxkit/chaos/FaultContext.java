package dev.outboxkit.chaos;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import java.util.function.Supplier;

/**
 * What a fault may touch: the run's configuration and servers, the relay fleet, the seeded random
 * source (victims are drawn from it, so a seed replays a schedule), the clock, the relays'
 * dead-letter topic, the poison events, and who holds which outbox partitions now.
 */
record FaultContext(
    ChaosConfig config,
    ChaosEnvironment environment,
    RelayFleet fleet,
    Random random,
    Clock clock,
    String cdcName,
    String topic,
    String deadLetterTopic,
    PoisonEvents poison,
    Supplier<Set<Integer>> allPartitions) {

  /**
   * The outbox partitions a relay is responsible for right now: its leased partitions when polling;
   * every partition when it holds the CDC engine's lease, none when it is a standby.
   */
  Set<Integer> partitionsHeldBy(String relayId) {
    try (Connection c = environment.admin().getConnection();
        Statement s = c.createStatement()) {
      if (config.mode() == Mode.CDC) {
        try (PreparedStatement ps =
            c.prepareStatement("SELECT owner_id FROM outbox_cdc_state WHERE name = ?")) {
          ps.setString(1, cdcName);
          try (ResultSet rs = ps.executeQuery()) {
            return rs.next() && ownedBy(rs.getString(1), relayId) ? allPartitions.get() : Set.of();
          }
        }
      }
      Set<Integer> held = new HashSet<>();
      try (ResultSet rs = s.executeQuery("SELECT partition_no, owner_id FROM outbox_relay_lease")) {
        while (rs.next()) {
          if (ownedBy(rs.getString(2), relayId)) {
            held.add(rs.getInt(1));
          }
        }
      }
      return held;
    } catch (SQLException e) {
      throw new IllegalStateException("Could not read the leases", e);
    }
  }

  private static boolean ownedBy(String owner, String relayId) {
    return owner != null && owner.startsWith(relayId + "~");
  }

  /** A relay drawn at random from the running ones, preferring one that holds partitions. */
  RelayFleet.Relay pickVictim() {
    var relays = fleet.relays();
    var holding = relays.stream().filter(r -> !partitionsHeldBy(r.id()).isEmpty()).toList();
    var from = holding.isEmpty() ? relays : holding;
    return from.get(random.nextInt(from.size()));
  }
}
