package dev.outboxkit.relay.app.cli;

/** What the CLI's exit status means, for scripts and runbooks. Also printed by {@code --help}. */
public final class ExitCodes {

  /** The command ran; for {@code check}: every check passed. */
  public static final int OK = 0;

  /** {@code check}: at least one check failed (the relay would refuse to start). */
  public static final int CHECK_FAILED = 1;

  /** The command line was wrong (unknown command or option, bad value): nothing ran. */
  public static final int USAGE = 2;

  /**
   * A change was refused before it ran: {@code replay}/{@code purge} without {@code --yes} (or
   * {@code --dry-run}), or without any selection; recorded in the audit trail as refused.
   */
  public static final int REFUSED = 3;

  /** The database could not be reached or a statement failed (configuration or outage). */
  public static final int DATABASE = 4;

  private ExitCodes() {}

  /** What {@code --help} ends with (picocli turns {@code %n} into line breaks). */
  static final String HELP =
      "Exit codes:%n"
          + "  0  done (check: every check passed)%n"
          + "  1  check: a check failed%n"
          + "  2  wrong command line, nothing ran%n"
          + "  3  change refused (no --yes, or nothing selected), recorded in the audit trail%n"
          + "  4  database unreachable or a statement failed";
}
