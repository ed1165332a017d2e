package dev.outboxkit.outbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class OutboxTableTests {

  @Test
  void parsesPlainAndSchemaQualifiedNames() {
    assertThat(OutboxTable.of("outbox_event")).isEqualTo(OutboxTable.DEFAULT);
    OutboxTable qualified = OutboxTable.of("payments.outbox");
    assertThat(qualified.schema()).isEqualTo("payments");
    assertThat(qualified.name()).isEqualTo("outbox");
    assertThat(qualified.qualifiedName()).isEqualTo("payments.outbox");
  }

  @ParameterizedTest
  @ValueSource(strings = {"user", "ORDER", "public.select", "group.outbox"})
  void rejectsReservedWords(String name) {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> OutboxTable.of(name))
        .withMessageContaining("reserved SQL word");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "outbox event",
        "outbox;DROP TABLE payments",
        "\"outbox\"",
        "1outbox",
        "a.b.c",
        "outbox-event",
        "x_this_table_name_is_far_too_long_for_derived_index_names"
      })
  void rejectsAnythingButPlainIdentifiers(String name) {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> OutboxTable.of(name))
        .withMessageContaining("must match");
  }
}
