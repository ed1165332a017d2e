package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class FailureFingerprintTests {

  @Test
  void eventsParkedByOneCauseShareAFingerprintWhateverTheirIdsOffsetsAndHosts() {
    FailureFingerprint a =
        FailureFingerprint.of(
            "org.apache.kafka.common.errors.RecordTooLargeException: The message is 1048677 bytes"
                + " when serialized, event 0190f3c2-0000-7000-8000-000000000001 at offset 42"
                + " on broker-1.kafka.svc:9092");
    FailureFingerprint b =
        FailureFingerprint.of(
            "RecordTooLargeException: The message is 2000001 bytes   when serialized, event"
                + " 0190f3c2-0000-7000-8000-0000000000ff at offset 977 on 10.1.2.3:9093");
    assertThat(a).isEqualTo(b);
    assertThat(a.exceptionClass()).isEqualTo("RecordTooLargeException");
    assertThat(a.message())
        .isEqualTo(
            "The message is <n> bytes when serialized, event <uuid> at offset <n> on <host:port>");
    assertThat(a.id()).hasSize(12).matches("[0-9a-f]{12}");
  }

  @Test
  void differentCausesOrTopicsAreDifferentGroups() {
    FailureFingerprint acl =
        FailureFingerprint.of(
            "TopicAuthorizationException: Not authorized to access topics: [orders]");
    FailureFingerprint otherTopic =
        FailureFingerprint.of(
            "TopicAuthorizationException: Not authorized to access topics: [payments]");
    FailureFingerprint missing =
        FailureFingerprint.of(
            "UnknownTopicOrPartitionException: Topic orders not present in metadata after 60000"
                + " ms.");
    assertThat(acl.id()).isNotEqualTo(otherTopic.id()).isNotEqualTo(missing.id());
    assertThat(missing.message()).isEqualTo("Topic orders not present in metadata after <n> ms.");
  }

  @Test
  void textWithoutAnExceptionClassAndNoTextAtAllHaveFingerprintsToo() {
    FailureFingerprint router = FailureFingerprint.of("The topic router failed: boom 17");
    assertThat(router.exceptionClass()).isEqualTo("unknown");
    assertThat(router.message()).isEqualTo("The topic router failed: boom <n>");
    FailureFingerprint none = FailureFingerprint.of(null);
    assertThat(none).isEqualTo(FailureFingerprint.of("  "));
    assertThat(none.exceptionClass()).isEqualTo("unknown");
    assertThat(none.message()).isEmpty();
  }

  @Test
  void namesWithDigitsAndLongMessagesStayBounded() {
    FailureFingerprint f =
        FailureFingerprint.of("InvalidRecordException: topic relay7x123 " + "x".repeat(1000));
    assertThat(f.message()).startsWith("topic relay7x123 ");
    assertThat(f.message()).hasSize(FailureFingerprint.MAX_MESSAGE + 3);
  }

  @Test
  void aFilterCombinesItsConditionsAndMatchesErrorsByPatternIgnoringCase() {
    ParkedEvent event =
        new ParkedEvent(
            1,
            UUID.fromString("0190f3c2-0000-7000-8000-000000000001"),
            "order",
            "k1",
            "OrderPlaced",
            10,
            "TopicAuthorizationException: Not authorized to access topics: [orders]",
            Instant.parse("2026-12-06T03:00:00Z"));
    String group = FailureFingerprint.of(event.lastError()).id();
    assertThat(ParkedFilter.all().matches(event)).isTrue();
    assertThat(ParkedFilter.group(group).withAggregateType("order").matches(event)).isTrue();
    assertThat(ParkedFilter.group(group).withAggregateType("payment").matches(event)).isFalse();
    assertThat(ParkedFilter.all().withErrorLike("not AUTHORIZED").matches(event)).isTrue();
    assertThat(ParkedFilter.all().withErrorLike("topicauth%[orders]").matches(event)).isTrue();
    assertThat(ParkedFilter.all().withErrorLike("%payments%").matches(event)).isFalse();
    assertThat(ParkedFilter.all().withEventType("OrderPlaced").matches(event)).isTrue();
    assertThat(ParkedFilter.all().withSince(Instant.parse("2026-12-06T03:00:01Z")).matches(event))
        .isFalse();
    assertThat(ParkedFilter.ids(List.of(UUID.randomUUID())).matches(event)).isFalse();
    assertThat(ParkedFilter.all().withEventType("OrderPlaced").withSince(Instant.EPOCH).describe())
        .isEqualTo("type=OrderPlaced since=1970-01-01T00:00:00Z");
  }
}
