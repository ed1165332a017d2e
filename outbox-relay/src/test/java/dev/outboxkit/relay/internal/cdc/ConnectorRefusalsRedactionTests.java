package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import io.debezium.text.ParsingException;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.apache.kafka.connect.errors.ConnectException;

/**
 * An engine's failure reaches the relay's status, health details and logs: a password that a
 * statement in it carries ({@code IDENTIFIED BY '...'}) must not, wherever in the failure it is
 * (the engine's message, the outermost exception, the innermost cause) and however the text around
 * it is written; the text stays within its cap and explaining never throws.
 */
class ConnectorRefusalsRedactionTests {

  private static final String SECRET = "Zq7-s3cret-Xw";

  /** The longest a part of the report may get: its cap and the "..." that marks a cut. */
  private static final int PART = ConnectorRefusals.MAX_TEXT + 3;

  /**
   * How Debezium 3.5's AsyncEmbeddedEngine calls the completion callback when a task failed: the
   * message is its ExecutionException's (the cause's toString), the error is that cause. A
   * statement the parser refused, thrown without a wrapper, thus arrives whole in both.
   */
  @Example
  void aStatementInTheEnginesMessageAndOutermostErrorIsCut() {
    ParsingException parse =
        new ParsingException(
            null,
            "DDL statement couldn't be parsed. Please open a GitHub issue at"
                + " https://github.com/debezium/dbz/issues with the statement 'GRANT SELECT ON"
                + " app.outbox_event TO cdc IDENTIFIED BY '"
                + SECRET
                + "''\nno viable alternative at input 'GRANT'");
    String message = new ExecutionException(parse).getMessage();

    String explained = ConnectorRefusals.explain(new Properties(), message, parse);

    assertThat(explained).contains("DDL statement couldn't be parsed").doesNotContain(SECRET);
  }

  /** A statement whose literal follows a line break, not a space, is cut all the same. */
  @Example
  void aLiteralAfterALineBreakIsCut() {
    ConnectException error =
        new ConnectException(
            "An exception occurred in the change event producer.",
            new IllegalStateException(
                "could not apply\nCREATE USER cdc IDENTIFIED BY\n'" + SECRET + "'"));

    assertThat(ConnectorRefusals.explain(new Properties(), "stopped", error))
        .contains("could not apply")
        .doesNotContain(SECRET);
  }

  /** What is cut is what may carry a password: a login failure still says what failed. */
  @Example
  void aFailedLoginStaysReadable() {
    String failure =
        "org.postgresql.util.PSQLException: FATAL: password authentication failed for user"
            + " \"okt_cdc\"";

    assertThat(ConnectorRefusals.readable(failure)).isEqualTo(failure);
    assertThat(
            ConnectorRefusals.readable(
                "java.sql.SQLException: Access denied for user 'okt_cdc'@'10.0.0.7' (using"
                    + " password: YES)"))
        .isEqualTo(
            "java.sql.SQLException: Access denied for user '...' (quoted text left out; Debezium"
                + " logs it)");
  }

  @Example
  void aNullMessageIsReportedAsSuch() {
    assertThat(ConnectorRefusals.explain(new Properties(), null, new IllegalStateException("x")))
        .isEqualTo("null: java.lang.IllegalStateException: x");
  }

  @Property
  void neverThrowsStaysWithinItsCapAndNeverShowsThePassword(
      @ForAll("texts") String before,
      @ForAll("clauses") String clause,
      @ForAll("texts") String after,
      @ForAll("depths") int depth,
      @ForAll("depths") int placement,
      @ForAll boolean inMessage) {
    Assume.that(!(before + after).contains(SECRET));
    String carrier = before + clause + after;
    // The statement's text in one exception of a chain of up to five, the others plain.
    Throwable error = null;
    for (int level = depth; level >= 0; level--) {
      String text = level == placement % (depth + 1) ? carrier : "level " + level;
      error = error == null ? new IllegalStateException(text) : new ConnectException(text, error);
    }
    String message = inMessage ? carrier : "stopped";

    String explained = ConnectorRefusals.explain(new Properties(), message, error);
    String cause = ConnectorRefusals.rootCause(error);

    assertThat(explained).doesNotContain(SECRET);
    assertThat(cause).doesNotContain(SECRET);
    assertThat(cause.length()).isLessThanOrEqualTo(" (cause: )".length() + PART);
    // The engine's message, the outermost exception, its innermost cause: each capped.
    int bound = PART + ": ".length() + PART + " (cause: )".length() + PART;
    assertThat(explained.length()).isLessThanOrEqualTo(bound);
  }

  @Provide
  Arbitrary<String> texts() {
    return Arbitraries.oneOf(
        Arbitraries.strings().ofMaxLength(600),
        Arbitraries.strings().withChars(" '\"`\n\t=(),.;_aZ9").ofMaxLength(40),
        Arbitraries.of(
            "",
            "DDL statement couldn't be parsed. Please open a GitHub issue with the statement '",
            "no viable alternative at input '",
            "Error processing binlog event",
            "x".repeat(500)));
  }

  /** Ways a password follows IDENTIFIED BY or PASSWORD in MySQL and MariaDB statements. */
  @Provide
  Arbitrary<String> clauses() {
    Arbitrary<String> keyword =
        Arbitraries.of(
            "IDENTIFIED BY",
            "identified by",
            "IDENTIFIED\nBY",
            "Identified   By",
            "IDENTIFIED VIA ed25519 USING PASSWORD(",
            "SET PASSWORD FOR cdc =",
            "set password=",
            "SET PASSWORD FOR 'cdc'@'%' =",
            "CHANGE MASTER TO MASTER_PASSWORD =",
            "OPTIONS (USER 'cdc', PASSWORD");
    Arbitrary<String> gap = Arbitraries.of("", " ", "\n", "\t", "  ");
    Arbitrary<String> literal =
        Arbitraries.of(
            "'" + SECRET + "'",
            "\"" + SECRET + "\"",
            "_utf8mb4'" + SECRET + "'",
            "N'" + SECRET + "'",
            "PASSWORD '" + SECRET + "'",
            "''" + SECRET + "''",
            "\\'" + SECRET + "\\'",
            SECRET);
    return net.jqwik.api.Combinators.combine(keyword, gap, literal).as((k, g, l) -> k + g + l);
  }

  @Provide
  Arbitrary<Integer> depths() {
    return Arbitraries.integers().between(0, 4);
  }
}
