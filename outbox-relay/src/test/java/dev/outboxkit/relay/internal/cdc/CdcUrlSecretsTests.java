package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.outboxkit.relay.cdc.CdcOptions;
import org.junit.jupiter.api.Test;

/**
 * Review findings: the CDC URL's credentials reach exception messages (which the starter's failed
 * start, the relay status and {@code endStaleSlotHolder}'s WARN log print). Everywhere else the URL
 * goes through {@code Secrets.maskedUrl}; these two paths quote it, or the driver's message that
 * quotes it, as given. No server is needed: both fail before any connection is attempted.
 */
class CdcUrlSecretsTests {

  /**
   * A typo in the scheme ({@code postgres} for {@code postgresql}) is refused with the whole URL in
   * the message, the {@code user:password@} part included ({@code CdcOptions} line 104; {@code
   * ChangeLogSource} line 67 does the same).
   */
  @Test
  void aRefusedUrlIsQuotedWithoutItsPassword() {
    assertThatThrownBy(
            () -> CdcOptions.builder("jdbc:postgres://cdc:s3cr3t@db:5432/app", "cdc", "pw").build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cdc.url")
        .hasMessageNotContaining("s3cr3t");
  }

  /**
   * PgJDBC refuses a URL it cannot parse (here a port out of range) with "Unable to parse URL
   * &lt;the URL&gt;"; {@code CdcPreflight.connect} appends the driver's message as is, so the
   * {@code password=} parameter reaches the exception (the start-up checks and {@code
   * CdcEngineRunner.endStaleSlotHolder}, which logs it at WARN on every engine start).
   */
  @Test
  void aDriverMessageQuotingTheUrlIsMasked() {
    CdcOptions options =
        CdcOptions.builder("jdbc:postgresql://db:99999/app?user=cdc&password=s3cr3t", "cdc", "pw")
            .build();
    Throwable thrown = catchThrowable(() -> CdcPreflight.connect(options).close());
    assertThat(thrown)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("outbox.relay.cdc.url")
        .hasMessageNotContaining("s3cr3t");
    // A stack trace prints every cause: none may quote the URL either.
    for (Throwable t = thrown; t != null; t = t.getCause()) {
      assertThat(String.valueOf(t.getMessage())).as("message of %s", t).doesNotContain("s3cr3t");
    }
  }

  /**
   * MySQL Connector/J refuses a URL whose authority it cannot parse (here a password holding an
   * {@code @}) with "Malformed database URL, failed to parse the URL authority segment
   * 'app:s3cr@t-tail@db:3306'": the segment has no {@code //} before it, and the password's own
   * {@code @} ended the old pattern early. The session connection and the CDC checks mask the
   * driver's message with {@code Secrets.maskedUrl} before they quote it.
   */
  @Test
  void theMySqlDriversMalformedAuthorityMessageIsMasked() {
    Throwable thrown =
        catchThrowable(
            () ->
                java.sql.DriverManager.getConnection(
                        "jdbc:mysql://app:s3cr@t-tail@db:3306/app", "u", "p")
                    .close());
    assertThat(thrown).hasMessageContaining("s3cr@t-tail");
    assertThat(dev.outboxkit.relay.internal.Secrets.maskedUrl(thrown.getMessage()))
        .contains("authority segment 'app:****@db:3306'")
        .doesNotContain("s3cr")
        .doesNotContain("t-tail");
  }

  /** The driver's wording, masked whether or not it quotes the segment with {@code //}. */
  @Test
  void userInfoWithoutASchemeIsMasked() {
    assertThat(
            dev.outboxkit.relay.internal.Secrets.maskedUrl(
                "Malformed database URL, failed to parse the connection string near"
                    + " ';authority segment 'app:s3cr@t-tail@db:3306'."))
        .doesNotContain("s3cr")
        .doesNotContain("t-tail")
        .contains("db:3306");
  }
}
