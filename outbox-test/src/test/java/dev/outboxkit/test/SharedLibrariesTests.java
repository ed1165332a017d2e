package dev.outboxkit.test;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class SharedLibrariesTests {

  // ldd's report on mysqld 8.0.31 on a fresh Debian 12 machine (paths shortened).
  private static final String LDD_WITHOUT_AIO_AND_NUMA =
      """
      \tlinux-vdso.so.1 (0x00007ffd5c3f2000)
      \tlibpthread.so.0 => /lib/x86_64-linux-gnu/libpthread.so.0 (0x00007f6a1c9e0000)
      \tlibnuma.so.1 => not found
      \tlibaio.so.1 => not found
      \tlibssl.so.1.1 => /opt/mysql/bin/../lib/private/libssl.so.1.1 (0x00007f6a1c940000)
      \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f6a1c75f000)
      """;

  private static final String LOADER_ERROR =
      "/root/.cache/outboxkit/mysql/base/bin/mysqld: error while loading shared libraries:"
          + " libaio.so.1: cannot open shared object file: No such file or directory\n";

  private static final String LDD_ALL_FOUND =
      """
      \tlibaio.so.1 => /lib/x86_64-linux-gnu/libaio.so.1 (0x00007f902251f000)
      \tlibnuma.so.1 => /lib/x86_64-linux-gnu/libnuma.so.1 (0x00007f9022512000)
      """;

  @Test
  void readsEveryMissingLibraryFromLdd() {
    assertThat(SharedLibraries.missing(LDD_WITHOUT_AIO_AND_NUMA))
        .containsExactly("libnuma.so.1", "libaio.so.1");
  }

  @Test
  void readsTheMissingLibraryFromTheLoaderError() {
    assertThat(SharedLibraries.missing(LOADER_ERROR)).containsExactly("libaio.so.1");
  }

  @Test
  void findsNothingMissingWhenAllAreResolved() {
    assertThat(SharedLibraries.missing(LDD_ALL_FOUND)).isEmpty();
    assertThat(SharedLibraries.missing("mysqld  Ver 8.0.31 for Linux on x86_64")).isEmpty();
  }

  @Test
  void namesTheDebianPackages() {
    List<String> missing = SharedLibraries.missing(LDD_WITHOUT_AIO_AND_NUMA + LOADER_ERROR);
    assertThat(missing).containsExactly("libnuma.so.1", "libaio.so.1");
    assertThat(SharedLibraries.packages(missing)).containsExactly("libnuma1", "libaio1");
    assertThat(SharedLibraries.describe(missing))
        .isEqualTo("libnuma.so.1 (Debian package libnuma1), libaio.so.1 (Debian package libaio1)");
  }

  @Test
  void saysSoWhenItKnowsNoPackage() {
    assertThat(SharedLibraries.describe(List.of("libfoo.so.2")))
        .isEqualTo("libfoo.so.2 (install the package that provides it)");
    assertThat(SharedLibraries.packages(List.of("libfoo.so.2"))).isEmpty();
  }
}
