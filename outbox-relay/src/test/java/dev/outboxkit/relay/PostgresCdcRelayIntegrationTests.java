package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class PostgresCdcRelayIntegrationTests extends CdcRelayContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @Override
  TestDatabaseExtension database() {
    return db;
  }

  /** Publications exist on PostgreSQL only; the binlog databases have no counterpart. */
  @Test
  void refusesToStartWhenThePublicationIsMissingAndMayNotBeCreated() {
    OutboxRelay relay = relay(c -> c.autoCreate(false).publication("nopub_" + engine), b -> b);
    assertThatThrownBy(relay::start)
        .hasMessageContaining(
            "CREATE PUBLICATION nopub_" + engine + " FOR TABLE public.outbox_event")
        .hasMessageContaining("outbox.relay.cdc.auto-create=true");
  }
}
