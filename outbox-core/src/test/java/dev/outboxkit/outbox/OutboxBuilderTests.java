package dev.outboxkit.outbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.outbox.spi.ConnectionProvider;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.util.List;
import org.junit.jupiter.api.Test;

class OutboxBuilderTests {

  private final ConnectionProvider noTransaction =
      new ConnectionProvider() {
        @Override
        public <T> T withTransactionConnection(ConnectionCallback<T> work) {
          throw new NoActiveTransactionException("none");
        }
      };

  @Test
  void requiresAConnectionProviderAndADialect() {
    assertThatIllegalStateException()
        .isThrownBy(() -> Outbox.builder().dialect(OutboxDialect.h2()).build())
        .withMessageContaining("connectionProvider");
    assertThatIllegalStateException()
        .isThrownBy(() -> Outbox.builder().connectionProvider(noTransaction).build())
        .withMessageContaining("dialect");
  }

  @Test
  void namesTheOptionInRangeErrors() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Outbox.builder().partitions(0))
        .withMessage("partitions must be between 1 and 4096 but was 0");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Outbox.builder().maxPayloadBytes(-1))
        .withMessageStartingWith("maxPayloadBytes");
  }

  @Test
  void validatesBeforeLookingForATransaction() {
    Outbox outbox =
        Outbox.builder().connectionProvider(noTransaction).dialect(OutboxDialect.h2()).build();
    assertThatThrownBy(() -> outbox.append("Payment", "", "T", null))
        .isInstanceOf(InvalidEventException.class);
    assertThatThrownBy(() -> outbox.append("Payment", "p", "T", null))
        .isInstanceOf(NoActiveTransactionException.class);
    assertThat(outbox.appendAll(List.of())).isEmpty();
  }

  @Test
  void dialectsAreFoundByName() {
    assertThat(OutboxDialect.named("PostgreSQL")).isSameAs(OutboxDialect.postgresql());
    assertThatIllegalArgumentException()
        .isThrownBy(() -> OutboxDialect.named("oracle"))
        .withMessage("Unknown outbox dialect 'oracle'; use one of postgresql, mysql, mariadb, h2");
  }
}
