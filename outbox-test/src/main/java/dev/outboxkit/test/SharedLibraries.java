package dev.outboxkit.test;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads which shared libraries a native program lacks, from {@code ldd}'s report ({@code
 * libaio.so.1 => not found}) or from the dynamic loader's error when the program was run ({@code
 * error while loading shared libraries: libaio.so.1: cannot open shared object file}), and names
 * the Debian packages that provide them. The MySQL binaries need {@code libaio} and {@code
 * libnuma}, which a fresh Debian or Ubuntu machine often lacks.
 */
final class SharedLibraries {

  /** Debian packages of the libraries that {@code mysqld} may be missing. */
  static final Map<String, String> DEBIAN_PACKAGES =
      Map.of(
          "libaio.so.1", "libaio1",
          "libnuma.so.1", "libnuma1");

  private static final Pattern LDD_NOT_FOUND =
      Pattern.compile("^\\s*(\\S+)\\s+=>\\s+not found", Pattern.MULTILINE);
  private static final Pattern LOADER_ERROR =
      Pattern.compile("error while loading shared libraries: ([^:\\s]+):");

  private SharedLibraries() {}

  /** The libraries named as missing in ldd output or a loader error, in order of appearance. */
  static List<String> missing(String output) {
    Set<String> names = new LinkedHashSet<>();
    Matcher ldd = LDD_NOT_FOUND.matcher(output);
    while (ldd.find()) {
      names.add(ldd.group(1));
    }
    Matcher loader = LOADER_ERROR.matcher(output);
    while (loader.find()) {
      names.add(loader.group(1));
    }
    return List.copyOf(names);
  }

  /**
   * A sentence naming each missing library and the Debian package that provides it, e.g. {@code
   * "libaio.so.1 (Debian package libaio1)"}.
   */
  static String describe(List<String> libraries) {
    StringBuilder text = new StringBuilder();
    for (String library : libraries) {
      if (text.length() > 0) {
        text.append(", ");
      }
      String pkg = DEBIAN_PACKAGES.get(library);
      text.append(library)
          .append(
              pkg == null
                  ? " (install the package that provides it)"
                  : " (Debian package " + pkg + ")");
    }
    return text.toString();
  }

  /** The Debian packages to install for the given libraries, those we know. */
  static List<String> packages(List<String> libraries) {
    return libraries.stream().map(DEBIAN_PACKAGES::get).filter(p -> p != null).distinct().toList();
  }
}
