package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import io.debezium.text.ParsingException;
import java.util.Properties;
import org.apache.kafka.connect.errors.ConnectException;
import org.junit.jupiter.api.Test;

/** How an engine's failure reads in the relay's status and logs. */
class ConnectorRefusalsTests {

  /**
   * Issue 20: the engine's failure named only "An exception occurred in the change event producer";
   * the reason (Debezium's parser on a statement) was at the bottom of the chain. It is named now,
   * cut where the statement's quoted text begins (a password may be in it).
   */
  @Test
  void namesTheInnermostCauseWithQuotedLiteralsMasked() {
    ParsingException parse =
        new ParsingException(
            null,
            "DDL statement couldn't be parsed. Please open a GitHub issue with the statement"
                + " 'ALTER USER x IDENTIFIED BY 'S3cret-pw''",
            // The parser's own exception, innermost, has no message.
            new IllegalStateException());
    ConnectException error =
        new ConnectException(
            "An exception occurred in the change event producer.",
            new ConnectException("An exception occurred in the change event producer.", parse));

    String explained = ConnectorRefusals.explain(new Properties(), "stopped", error);

    assertThat(explained)
        .contains("An exception occurred in the change event producer")
        .contains(
            "(cause: io.debezium.text.ParsingException: DDL statement couldn't be parsed. Please"
                + " open a GitHub issue with the statement '...'")
        .doesNotContain("S3cret-pw");
  }

  @Test
  void anErrorWithoutACauseIsReportedAsItIs() {
    assertThat(
            ConnectorRefusals.explain(
                new Properties(), "stopped", new IllegalStateException("boom")))
        .isEqualTo("stopped: java.lang.IllegalStateException: boom");
  }
}
