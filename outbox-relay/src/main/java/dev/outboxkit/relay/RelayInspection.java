package dev.outboxkit.relay;

import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxStoreException;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.internal.AuditAccess;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.JdbcParkedEvents;
import dev.outboxkit.relay.internal.LeaseStore;
import dev.outboxkit.relay.internal.OutboxStats;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * What an operator reads about an outbox and its relays from the database alone, without running a
 * relay: the backlog, the parked events (and their management), who holds which partition, and the
 * start-up checks a relay would run. The operator CLI ({@code java -jar outbox-relay-app.jar
 * status|leases|check|parked}) is built on it. Reads only, apart from {@link #parkedEvents()};
 * every method is one short auto-commit read of its own and safe while relays run.
 *
 * @since 0.8
 */
public final class RelayInspection {

  /** The shipped roles whose grants a relay's start-up checks name (docs/roles.md). */
  private static final String POLLING_ROLE = "outboxkit_relay";

  private static final String POLLING_ROLE_SCRIPT = "outboxkit-roles-relay.sql";
  private static final String CDC_ROLE = "outboxkit_cdc_relay";
  private static final String CDC_ROLE_SCRIPT = "outboxkit-roles-cdc.sql";

  private final DataSource dataSource;
  private final Jdbc jdbc;
  private final OutboxDialect dialect;
  private final OutboxTable outbox;
  private final OutboxTable leases;
  private final OutboxTable members;
  private final int partitions;
  private final Clock clock;

  private RelayInspection(
      DataSource dataSource,
      OutboxDialect dialect,
      OutboxTable outbox,
      OutboxTable leases,
      OutboxTable members,
      int partitions,
      Clock clock) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    this.jdbc = new Jdbc(dataSource);
    this.dialect = Objects.requireNonNull(dialect, "dialect");
    this.outbox = Objects.requireNonNull(outbox, "outbox");
    this.leases = Objects.requireNonNull(leases, "leases");
    this.members = Objects.requireNonNull(members, "members");
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be at least 1 but was " + partitions);
    }
    this.partitions = partitions;
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * The inspection of an outbox and the default lease tables ({@link RelayDefaults#LEASE_TABLE},
   * {@link RelayDefaults#MEMBER_TABLE}). Does no I/O.
   *
   * @param dataSource the outbox's database
   * @param dialect its dialect
   * @param outbox the outbox table
   * @param partitions {@code outbox.store.partitions}, as the relays use it
   * @param clock stamps audit records of parked-event operations
   */
  public static RelayInspection of(
      DataSource dataSource,
      OutboxDialect dialect,
      OutboxTable outbox,
      int partitions,
      Clock clock) {
    return new RelayInspection(
        dataSource,
        dialect,
        outbox,
        OutboxTable.of(RelayDefaults.LEASE_TABLE),
        OutboxTable.of(RelayDefaults.MEMBER_TABLE),
        partitions,
        clock);
  }

  /**
   * The outbox's parked events, managed as through a relay's {@link OutboxRelay#parkedEvents()}
   * (same audit trail). Replays wake no relay: polling relays see them at their next poll, or at
   * once on PostgreSQL through the NOTIFY trigger.
   */
  public ParkedEvents parkedEvents() {
    return new JdbcParkedEvents(jdbc, dialect, outbox, () -> {}, clock);
  }

  /**
   * The backlog and the parked events, with ages by the database's clock.
   *
   * @param pending events waiting to be published
   * @param oldestPending age of the oldest of them, or {@code null} when none waits
   * @param parked parked events (counted up to 100,000)
   * @param oldestParked age of the oldest of them, or {@code null} when none is parked
   * @param databaseNow the database's clock when it was read
   */
  public record Backlog(
      long pending,
      @Nullable Duration oldestPending,
      long parked,
      @Nullable Duration oldestParked,
      Instant databaseNow) {}

  /**
   * One partition's lease.
   *
   * @param partition the outbox partition
   * @param owner the instance holding it, or {@code null} when free
   * @param epoch how often it changed owner
   * @param expiresAt when the lease lapses unless renewed, or {@code null}
   * @param expired whether it lapsed already, by the database's clock
   */
  public record Lease(
      int partition,
      @Nullable String owner,
      long epoch,
      @Nullable Instant expiresAt,
      boolean expired) {}

  /**
   * A relay instance registered in the member table.
   *
   * @param id its instance id
   * @param heartbeatAt its last heartbeat, by the database's clock
   * @param sessionLock whether it held its session lock then (others take over at once after it
   *     missed a heartbeat only when it did)
   * @param expiresAt until when its last heartbeat said it lives (its heartbeat plus the lease
   *     TTL), by the database's clock; {@code null} if unknown
   * @param relayState the lifecycle state it reported at its last heartbeat ({@code RUNNING},
   *     {@code PAUSED}, {@code STALLED}, {@code STOPPING}, {@code FAILED}), or {@code null} when it
   *     reported none (a relay older than version 10 of the tables). A report is as old as the
   *     heartbeat: judge it by {@code heartbeatAt}
   * @param circuitState its broker circuit breaker's state at its last heartbeat ({@code CLOSED},
   *     {@code OPEN}, {@code HALF_OPEN}), or {@code null} when it reported none
   * @since 0.10 (the last three components)
   */
  public record Member(
      String id,
      @Nullable Instant heartbeatAt,
      boolean sessionLock,
      @Nullable Instant expiresAt,
      @Nullable String relayState,
      @Nullable String circuitState) {}

  /**
   * The leases and the members, read together.
   *
   * @param leases every partition's lease, by partition
   * @param members every registered instance, by id
   * @param databaseNow the database's clock when they were read
   */
  public record Leases(List<Lease> leases, List<Member> members, Instant databaseNow) {}

  /**
   * One start-up check.
   *
   * @param name what was checked
   * @param ok whether it passed
   * @param detail what is wrong and what to do, or what was found
   */
  public record Check(String name, boolean ok, String detail) {}

  /**
   * The pending events of one partition.
   *
   * @param partition the outbox partition
   * @param pending its pending events
   * @param failing those of them that failed at least once ({@code attempts > 0})
   * @param oldest the oldest one's creation time
   * @param maxAttempts the most attempts of any of them
   * @param nextAttemptAt the latest next attempt of a failed one, or {@code null} when none
   * @since 0.9
   */
  public record PartitionBacklog(
      int partition,
      long pending,
      long failing,
      @Nullable Instant oldest,
      int maxAttempts,
      @Nullable Instant nextAttemptAt) {}

  /**
   * Which pending events {@link #pending(PendingFilter, int)} lists; {@code null} means any.
   *
   * @param partition only this partition
   * @param eventType only this event type
   * @param aggregateType only this aggregate type
   * @param failingOnly only events that failed at least once
   * @since 0.9
   */
  public record PendingFilter(
      @Nullable Integer partition,
      @Nullable String eventType,
      @Nullable String aggregateType,
      boolean failingOnly) {

    /** Every pending event. */
    public static PendingFilter all() {
      return new PendingFilter(null, null, null, false);
    }
  }

  /**
   * One pending event, without its payload and headers.
   *
   * @param seq its append order
   * @param id the event id
   * @param aggregateType its aggregate type
   * @param aggregateId its aggregate id (the Kafka key)
   * @param eventType its event type
   * @param partition its outbox partition
   * @param createdAt when it was appended
   * @param attempts failed attempts so far
   * @param nextAttemptAt when it is tried again, or {@code null}
   * @param lastError the last failure, or {@code null}
   * @since 0.9
   */
  public record Pending(
      long seq,
      UUID id,
      String aggregateType,
      String aggregateId,
      String eventType,
      int partition,
      Instant createdAt,
      int attempts,
      @Nullable Instant nextAttemptAt,
      @Nullable String lastError) {}

  /**
   * The CDC engine's row in the CDC state table.
   *
   * @param name the engine name ({@code outbox.relay.cdc.name})
   * @param owner the instance holding the engine's lease, or {@code null}
   * @param epoch how often the lease changed owner
   * @param expiresAt when the lease lapses unless renewed, or {@code null}
   * @param updatedAt when the offsets were last stored, or {@code null}
   * @param expired whether the lease lapsed already, by the database's clock
   * @param position the position Debezium stored (binlog file and position, or LSN), or {@code
   *     null} when none is stored there (never started, or offsets kept in Kafka)
   * @param heartbeatAt when the lease holder last took or renewed the lease, or gave it up, by the
   *     database's clock; {@code null} when no relay of version 11 of the tables wrote the row
   * @param relayState what the holder reported at that time: its state while it holds the lease
   *     ({@code RUNNING}, {@code PAUSED}, {@code STALLED}), or why it gave the lease up ({@code
   *     STOPPED}, {@code STANDBY}: its engine failed and it tries again, {@code FAILED}); {@code
   *     null} when none was reported. A report is as old as {@code heartbeatAt}
   * @param circuitState the holder's broker circuit breaker's state then ({@code CLOSED}, {@code
   *     OPEN}, {@code HALF_OPEN}), or {@code null}
   * @since 0.9; 0.11 for the last three components
   */
  public record CdcEngine(
      String name,
      @Nullable String owner,
      long epoch,
      @Nullable Instant expiresAt,
      @Nullable Instant updatedAt,
      boolean expired,
      @Nullable String position,
      @Nullable Instant heartbeatAt,
      @Nullable String relayState,
      @Nullable String circuitState) {}

  /**
   * A replication slot of the server (PostgreSQL).
   *
   * @param name the slot name
   * @param plugin its output plugin (or its type for a physical slot)
   * @param database its database, or {@code null} for a physical slot
   * @param active whether a session streams from it now
   * @param activePid that session's process id, or {@code null}
   * @param restartLsn the oldest WAL position it needs
   * @param confirmedFlushLsn what its consumer confirmed
   * @param walStatus the server's {@code wal_status} (reserved, extended, unreserved, lost)
   * @param retainedBytes WAL the server keeps for it, or {@code null} when unknown
   * @since 0.9
   */
  public record ReplicationSlot(
      String name,
      String plugin,
      @Nullable String database,
      boolean active,
      @Nullable Integer activePid,
      @Nullable String restartLsn,
      @Nullable String confirmedFlushLsn,
      @Nullable String walStatus,
      @Nullable Long retainedBytes) {}

  /**
   * What the database says about CDC.
   *
   * @param engineName the configured engine name, or {@code null} in polling mode
   * @param engine the engine's row, or {@code null} (see {@code note})
   * @param note why there is no engine row, or {@code null}
   * @param slots every replication slot of the server, or {@code null} when the database has no
   *     slots (MySQL, MariaDB: the binlog position is the engine's {@link CdcEngine#position()})
   * @param databaseNow the database's clock when it was read
   * @since 0.9
   */
  public record CdcState(
      @Nullable String engineName,
      @Nullable CdcEngine engine,
      @Nullable String note,
      @Nullable List<ReplicationSlot> slots,
      Instant databaseNow) {}

  /**
   * The pending events of each partition that has any, by partition. Reads every pending row once
   * (a grouped count); {@link #backlog()} is the cheap total.
   *
   * @since 0.9
   */
  public List<PartitionBacklog> pendingByPartition() {
    return read(
        "Could not read the pending events of " + outbox,
        c -> new OutboxStats(dialect, outbox).byPartition(c));
  }

  /**
   * At most {@code limit} pending events that match, oldest ({@code seq} order) first, without
   * payload or headers.
   *
   * @throws IllegalArgumentException for a limit outside 1 to 1000
   * @since 0.9
   */
  public List<Pending> pending(PendingFilter filter, int limit) {
    Objects.requireNonNull(filter, "filter");
    if (limit < 1 || limit > 1000) {
      throw new IllegalArgumentException("limit must be 1 to 1000 but was " + limit);
    }
    return read(
        "Could not list the pending events of " + outbox,
        c -> new OutboxStats(dialect, outbox).pending(c, filter, limit));
  }

  /**
   * The CDC engine's lease and stored position, and the server's replication slots with the WAL
   * each retains. Reads only, on this inspection's data source (no CDC connection).
   *
   * @param cdc the CDC options as the relay uses them, or {@code null} in polling mode (then only
   *     the slots, e.g. one left behind by a former CDC relay)
   * @since 0.9
   */
  public CdcState cdc(@Nullable CdcOptions cdc) {
    return read(
        "Could not read the CDC state of " + outbox, c -> RelayFactory.cdcState(c, dialect, cdc));
  }

  /** The backlog and parked events now. */
  public Backlog backlog() {
    return read(
        "Could not measure the outbox " + outbox,
        c -> {
          OutboxStats stats = new OutboxStats(dialect, outbox);
          Instant now = LeaseStore.databaseNow(c, dialect);
          OutboxStats.Stats pending = stats.stats(c);
          OutboxStats.Parked parked = stats.parked(c);
          return new Backlog(
              pending.backlog(),
              age(pending.oldest(), now),
              parked.count(),
              age(parked.oldest(), now),
              now);
        });
  }

  /** The lease table and the member table now. */
  public Leases leases() {
    return read(
        "Could not read the lease tables " + leases + ", " + members,
        c -> {
          LeaseStore store = new LeaseStore(dialect, leases, members);
          Instant now = store.now(c);
          List<Lease> all = new ArrayList<>();
          for (LeaseStore.LeaseRow row : store.all(c)) {
            boolean expired = row.expiresAt() == null || !row.expiresAt().isAfter(now);
            all.add(new Lease(row.partition(), row.owner(), row.epoch(), row.expiresAt(), expired));
          }
          List<Member> found = new ArrayList<>();
          for (LeaseStore.Member m : store.members(c)) {
            found.add(
                new Member(
                    m.id(),
                    m.heartbeatAt(),
                    m.sessionLock(),
                    m.expiresAt(),
                    m.reported().relayState(),
                    m.reported().circuitState()));
          }
          return new Leases(all, found, now);
        });
  }

  /**
   * The checks a polling relay runs before it starts: the outbox, lease and audit tables with every
   * column, the grant to append to the audit table (the relay's rolled-back probe), and no pending
   * event in a partition beyond {@code partitions}. Each is run even when another failed. A
   * database that cannot be reached throws.
   */
  public List<Check> check() {
    return check(POLLING_ROLE, POLLING_ROLE_SCRIPT, true);
  }

  /**
   * @param pollingTables whether the lease and member tables are checked: the polling relay's,
   *     which the CDC relay neither uses nor may read under its shipped role ({@code
   *     outboxkit_cdc_relay})
   */
  private List<Check> check(String role, String roleScript, boolean pollingTables) {
    return read(
        "Could not check the outbox " + outbox,
        c -> {
          List<Check> checks = new ArrayList<>();
          checks.add(
              check("outbox table " + outbox, () -> OutboxSchema.verify(c, dialect, outbox)));
          if (pollingTables) {
            checks.add(
                check(
                    "relay tables " + leases + ", " + members,
                    () -> RelaySchema.verify(c, dialect, leases, members)));
          }
          OutboxTable audit = AuditSchema.table(outbox);
          Check table = check("audit table " + audit, () -> AuditSchema.verify(c, dialect, audit));
          checks.add(table);
          checks.add(auditAppend(c, audit, table.ok(), role, roleScript));
          checks.add(partitions(c));
          return checks;
        });
  }

  /**
   * The checks a CDC relay runs before it starts: those of {@link #check()} but the lease tables
   * (the polling relay's, which the CDC relay does not use and its role may not read), then the CDC
   * ones of {@code CdcChecks} (the CDC URL and connection, the server and its connector, {@code
   * wal_level} or the binlog settings, the replication privilege, the publication and slot, the
   * state table). Reads only: what {@code auto-create} would create is reported, not created.
   *
   * @param cdc the CDC options as the relay uses them
   * @since 0.9
   */
  public List<Check> check(CdcOptions cdc) {
    List<Check> checks = new ArrayList<>(check(CDC_ROLE, CDC_ROLE_SCRIPT, false));
    try {
      checks.addAll(RelayFactory.cdcChecks(dataSource, dialect, outbox, cdc));
    } catch (SQLException e) {
      throw new OutboxStoreException("Could not check CDC for the outbox " + outbox, e);
    }
    return checks;
  }

  /**
   * The relay's start-up probe of the audit grant: an INSERT ... SELECT that matches no row, rolled
   * back. Replays, purges and the parked retention write their audit record in the same
   * transaction, so a missing grant would otherwise surface at the operator's first replay.
   */
  private Check auditAppend(
      Connection c, OutboxTable audit, boolean tablePresent, String role, String roleScript) {
    String name = "audit append grant on " + audit + " (role " + role + ")";
    if (!tablePresent) {
      return new Check(name, false, "not checked: the audit table check failed");
    }
    try {
      AuditAccess.probe(c, dialect, audit, role, roleScript);
      return new Check(name, true, "granted (probe rolled back, nothing written)");
    } catch (SQLException | RuntimeException e) {
      return new Check(name, false, String.valueOf(e.getMessage()));
    }
  }

  private Check partitions(Connection c) {
    String name = "partitions of pending events (outbox.store.partitions=" + partitions + ")";
    try {
      int highest = new OutboxStats(dialect, outbox).maxPendingPartition(c);
      if (highest >= partitions) {
        return new Check(
            name,
            false,
            "pending events in partition "
                + highest
                + ": writers and relays must use the same number of partitions");
      }
      return new Check(name, true, highest < 0 ? "none pending" : "highest " + highest);
    } catch (SQLException | RuntimeException e) {
      return new Check(name, false, e.getMessage());
    }
  }

  private static Check check(String name, Runnable verify) {
    try {
      verify.run();
      return new Check(name, true, "present");
    } catch (RuntimeException e) {
      return new Check(name, false, String.valueOf(e.getMessage()));
    }
  }

  private static @Nullable Duration age(@Nullable Instant then, Instant now) {
    if (then == null) {
      return null;
    }
    Duration age = Duration.between(then, now);
    return age.isNegative() ? Duration.ZERO : age;
  }

  private <T> T read(String what, Jdbc.Work<T> work) {
    try {
      return jdbc.autoCommit(work);
    } catch (SQLException e) {
      throw new OutboxStoreException(what, e);
    }
  }
}
