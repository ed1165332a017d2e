package dev.outboxkit.test;

import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.Location;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The published {@code outbox-test} must work without this unpublished module: none of its classes
 * may use a class of this module (they share the package {@code dev.outboxkit.test}, so javac alone
 * would not notice a reference through a jar that happens to be on the class path), its service
 * files may not name one, and its sources may not mention one (a Javadoc {@code @link} to a class
 * users cannot get breaks the published Javadoc).
 */
class OutboxTestIndependenceTests {

  private static final JavaClasses OUTBOX_TEST = classesBeside(TestServers.class);
  private static final JavaClasses SUPPORT = classesBeside(StallingProxy.class);

  @Test
  void theTwoModulesAreSeparateJarsOrDirectories() {
    assertThat(OUTBOX_TEST.contain(TestServers.class)).isTrue();
    assertThat(OUTBOX_TEST.contain(StallingProxy.class)).isFalse();
    assertThat(SUPPORT.contain(StallingProxy.class)).isTrue();
    assertThat(SUPPORT.contain(TestServers.class)).isFalse();
  }

  @Test
  void outboxTestClassesUseNoClassOfTheSupportModule() {
    Set<String> support = supportClassNames();
    List<String> offending = new ArrayList<>();
    for (JavaClass javaClass : OUTBOX_TEST) {
      for (Dependency dependency : javaClass.getDirectDependenciesFromSelf()) {
        String target = dependency.getTargetClass().getName();
        if (support.contains(target)) {
          offending.add(dependency.getDescription());
        }
      }
    }
    assertThat(offending)
        .as("outbox-test is published; outbox-test-support is not, so outbox-test may not use it")
        .isEmpty();
  }

  @Test
  void outboxTestServiceFilesNameNoClassOfTheSupportModule() throws IOException {
    Set<String> support = supportClassNames();
    URL outboxTest = TestServers.class.getProtectionDomain().getCodeSource().getLocation();
    List<String> named = new ArrayList<>();
    Enumeration<URL> files =
        getClass()
            .getClassLoader()
            .getResources("META-INF/services/org.junit.jupiter.api.extension.Extension");
    while (files.hasMoreElements()) {
      URL file = files.nextElement();
      if (!file.toString().startsWith(outboxTest.toString())
          && !file.toString().startsWith("jar:" + outboxTest)) {
        continue;
      }
      try (InputStream in = file.openStream()) {
        new String(in.readAllBytes(), StandardCharsets.UTF_8)
            .lines()
            .map(String::strip)
            .filter(support::contains)
            .forEach(named::add);
      }
    }
    assertThat(named).isEmpty();
  }

  @Test
  void outboxTestSourcesMentionNoClassOfTheSupportModule() throws IOException {
    Path sources = Path.of("..", "outbox-test", "src", "main", "java");
    assertThat(sources).as("run from the module directory of a checkout").isDirectory();
    Pattern names =
        Pattern.compile(
            "\\b("
                + supportClassNames().stream()
                    .map(name -> name.substring(name.lastIndexOf('.') + 1))
                    .filter(name -> !name.equals("package-info") && !name.contains("$"))
                    .collect(Collectors.joining("|"))
                + ")\\b");
    List<String> mentions = new ArrayList<>();
    try (Stream<Path> files = Files.walk(sources)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
          if (names.matcher(lines.get(i)).find()) {
            mentions.add(sources.relativize(file) + ":" + (i + 1) + ": " + lines.get(i).strip());
          }
        }
      }
    }
    assertThat(mentions).isEmpty();
  }

  private static Set<String> supportClassNames() {
    Set<String> names =
        SUPPORT.stream()
            .map(JavaClass::getName)
            .collect(Collectors.toCollection(java.util.TreeSet::new));
    assertThat(names).contains(StallingProxy.class.getName(), ShippedScripts.class.getName());
    return names;
  }

  private static JavaClasses classesBeside(Class<?> type) {
    try {
      URL location = type.getProtectionDomain().getCodeSource().getLocation();
      return new ClassFileImporter().importLocations(List.of(Location.of(location.toURI())));
    } catch (URISyntaxException e) {
      throw new IllegalStateException("Unreadable location of " + type, e);
    }
  }
}
