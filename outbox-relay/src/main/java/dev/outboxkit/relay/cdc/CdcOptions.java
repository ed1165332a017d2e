package dev.outboxkit.relay.cdc;

import static dev.outboxkit.outbox.OptionChecks.atLeast;
import static dev.outboxkit.outbox.OptionChecks.between;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.internal.cdc.ChangeLogSource;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * How the CDC relay reads the outbox: the Debezium embedded engine on the PostgreSQL WAL ({@code
 * pgoutput}) or the MySQL/MariaDB binlog. Debezium opens its own connections, so it needs the
 * database's JDBC URL and credentials; the relay's {@code DataSource} serves the lease, the offsets
 * and the bookkeeping.
 *
 * @param name the engine's name: the PostgreSQL replication slot, and the key of its lease and
 *     offsets; one active engine per name
 * @param jdbcUrl the database, {@code jdbc:postgresql://host:port/db}, {@code
 *     jdbc:mariadb://host:port/db} or {@code jdbc:mysql://host:port/db}
 * @param username the replication user Debezium logs in as (the shipped role {@code
 *     outboxkit_cdc}): the REPLICATION attribute or membership in {@code rds_replication}
 *     (PostgreSQL) or REPLICATION SLAVE, REPLICATION CLIENT and RELOAD grants (MySQL/MariaDB;
 *     RELOAD for the first start's snapshot lock), and SELECT on the outbox. The relay's own
 *     statements run on its {@code DataSource} as another user ({@code outboxkit_cdc_relay}); see
 *     docs/roles.md
 * @param password its password
 * @param publication the PostgreSQL publication, limited to the outbox table
 * @param autoCreate whether to create the publication (PostgreSQL) and the state table when
 *     missing; otherwise a missing one stops the start naming the statement to run
 * @param serverId the MySQL/MariaDB replica server id, unique among the server's replicas; by
 *     default derived from {@code name} (see {@link Builder#serverId(long)})
 * @param heartbeatInterval how often the engine records its position while the outbox is idle, so
 *     PostgreSQL can recycle WAL written for other tables
 * @param stateTable the table of leases and offsets
 * @param offsetsInKafka when set, offsets go to this Kafka topic instead of the state table
 * @param deletePublished whether to delete each event's row after the broker acknowledged it (the
 *     table then holds only what is still to publish); off when writers delete in their own
 *     transaction or another process cleans up
 * @param debeziumProperties further Debezium properties, applied last (experts only)
 */
public record CdcOptions(
    String name,
    String jdbcUrl,
    String username,
    String password,
    String publication,
    boolean autoCreate,
    long serverId,
    Duration heartbeatInterval,
    OutboxTable stateTable,
    @Nullable String offsetsInKafka,
    boolean deletePublished,
    Map<String, String> debeziumProperties) {

  /** Every option, with the password and secret Debezium properties masked. */
  @Override
  public String toString() {
    return "CdcOptions[name="
        + name
        + ", jdbcUrl="
        + dev.outboxkit.relay.internal.Secrets.maskedUrl(jdbcUrl)
        + ", username="
        + username
        + ", password="
        + dev.outboxkit.relay.internal.Secrets.MASK
        + ", publication="
        + publication
        + ", autoCreate="
        + autoCreate
        + ", serverId="
        + serverId
        + ", heartbeatInterval="
        + heartbeatInterval
        + ", stateTable="
        + stateTable
        + ", offsetsInKafka="
        + offsetsInKafka
        + ", deletePublished="
        + deletePublished
        + ", debeziumProperties="
        + dev.outboxkit.relay.internal.Secrets.masked(debeziumProperties)
        + "]";
  }

  private static final Pattern NAME = Pattern.compile("[a-z0-9_]{1,63}");

  /** Checks every option, naming it. */
  public CdcOptions {
    Objects.requireNonNull(name, "cdc.name");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "cdc.name '"
              + name
              + "' must be 1 to 63 lower-case letters, digits or '_' (it names the replication"
              + " slot)");
    }
    Objects.requireNonNull(jdbcUrl, "cdc.url");
    if (!ChangeLogSource.anyReads(jdbcUrl)) {
      throw new IllegalArgumentException(
          "cdc.url must be a PostgreSQL, MariaDB or MySQL JDBC URL but was "
              + dev.outboxkit.relay.internal.Secrets.maskedUrl(jdbcUrl));
    }
    Objects.requireNonNull(username, "cdc.username");
    Objects.requireNonNull(password, "cdc.password");
    if (!NAME.matcher(Objects.requireNonNull(publication, "cdc.publication")).matches()) {
      throw new IllegalArgumentException(
          "cdc.publication '"
              + publication
              + "' must be 1 to 63 lower-case letters, digits or '_'");
    }
    between("cdc.server-id", serverId, 1, 4_294_967_295L);
    atLeast("cdc.heartbeat-interval", heartbeatInterval, Duration.ofMillis(100));
    Objects.requireNonNull(stateTable, "cdc.stateTable");
    debeziumProperties = Map.copyOf(debeziumProperties);
  }

  /**
   * A first guess at the Debezium connector, before any connection: PostgreSQL by URL; MariaDB by
   * URL or when the database was detected as MariaDB; MySQL otherwise. At start-up the relay asks
   * the server over this URL what it is and uses that server's connector (a {@code jdbc:mariadb:}
   * URL may reach MySQL, and the other way round).
   *
   * @param dialectName the detected or configured dialect's name, or {@code null} when not known
   *     yet
   */
  public String connectorClass(@Nullable String dialectName) {
    return ChangeLogSource.connectorClassFor(jdbcUrl, dialectName);
  }

  /** A builder with defaults: name {@code outboxkit}, publication {@code outboxkit_pub}. */
  public static Builder builder(String jdbcUrl, String username, String password) {
    return new Builder(jdbcUrl, username, password);
  }

  /** Builds {@link CdcOptions}. */
  public static final class Builder {
    private final String jdbcUrl;
    private final String username;
    private final String password;
    private String name = RelayDefaults.CDC_NAME;
    private String publication = RelayDefaults.CDC_PUBLICATION;
    private boolean autoCreate;
    private @Nullable Long serverId;
    private Duration heartbeatInterval = RelayDefaults.CDC_HEARTBEAT_INTERVAL;
    private OutboxTable stateTable = OutboxTable.of(RelayDefaults.CDC_STATE_TABLE);
    private @Nullable String offsetsInKafka;
    private boolean deletePublished = true;
    private final Map<String, String> debezium = new LinkedHashMap<>();

    private Builder(String jdbcUrl, String username, String password) {
      this.jdbcUrl = jdbcUrl;
      this.username = username;
      this.password = password;
    }

    public Builder name(String name) {
      this.name = name;
      return this;
    }

    public Builder publication(String publication) {
      this.publication = publication;
      return this;
    }

    public Builder autoCreate(boolean autoCreate) {
      this.autoCreate = autoCreate;
      return this;
    }

    /**
     * The MySQL/MariaDB replica server id the binlog client connects as; it must differ from every
     * other replica and binlog client of that server, or the server drops the older connection ("A
     * slave with the same server_uuid/server_id is already connected").
     *
     * <p>Default: derived from the engine's {@link #name(String) name}, a hash (SHA-256) of the
     * name into {@link RelayDefaults#CDC_DERIVED_SERVER_ID_MIN} to {@link
     * RelayDefaults#CDC_DERIVED_SERVER_ID_MAX}, the same on every start and every replica of the
     * relay. Engines with different names thus get different ids without configuration: two names
     * collide with probability 1 in 4.29 billion (n engines on one server: about n²/8.6 billion).
     * Set an id when the server's replicas are numbered in that range or an id is assigned by
     * policy; a set id always wins.
     */
    public Builder serverId(long serverId) {
      this.serverId = serverId;
      return this;
    }

    public Builder heartbeatInterval(Duration interval) {
      this.heartbeatInterval = interval;
      return this;
    }

    public Builder stateTable(OutboxTable table) {
      this.stateTable = table;
      return this;
    }

    public Builder offsetsInKafka(@Nullable String topic) {
      this.offsetsInKafka = topic;
      return this;
    }

    public Builder deletePublished(boolean delete) {
      this.deletePublished = delete;
      return this;
    }

    public Builder debeziumProperty(String name, String value) {
      debezium.put(name, value);
      return this;
    }

    public CdcOptions build() {
      Objects.requireNonNull(name, "cdc.name");
      return new CdcOptions(
          name,
          jdbcUrl,
          username,
          password,
          publication,
          autoCreate,
          serverId != null ? serverId : ChangeLogSource.derivedServerId(name),
          heartbeatInterval,
          stateTable,
          offsetsInKafka,
          deletePublished,
          debezium);
    }
  }
}
