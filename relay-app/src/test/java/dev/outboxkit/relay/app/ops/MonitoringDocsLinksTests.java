package dev.outboxkit.relay.app.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/monitoring.md, the page of the operations pack (moved there from relay.md), links every
 * shipped operations artefact, and every relative link in it leads to a file or directory that
 * exists.
 */
class MonitoringDocsLinksTests {

  private static final Pattern LINK = Pattern.compile("\\]\\(([^)#\\s]+)(#[^)]*)?\\)");

  @Test
  void monitoringMdLinksEveryArtefactAndEveryRelativeLinkResolves() throws Exception {
    Path docs = DeployFiles.root().resolve("docs");
    String text = Files.readString(docs.resolve("monitoring.md"), StandardCharsets.UTF_8);
    Set<Path> targets = new LinkedHashSet<>();
    Matcher m = LINK.matcher(text);
    while (m.find()) {
      String href = m.group(1);
      if (href.contains("://") || href.startsWith("mailto:")) {
        continue;
      }
      Path target = docs.resolve(href).normalize();
      assertThat(target).as("docs/monitoring.md links %s", href).exists();
      targets.add(DeployFiles.root().relativize(target));
    }
    assertThat(targets)
        .contains(
            Path.of("deploy/prometheus/outbox-relay-rules.yml"),
            Path.of("deploy/grafana"),
            Path.of("docs/runbooks/README.md"),
            Path.of("deploy/helm/outbox-relay"),
            Path.of("deploy/kustomize/base"),
            Path.of("deploy/kustomize/overlays/polling"),
            Path.of("deploy/kustomize/overlays/cdc"),
            Path.of("relay-app/Dockerfile"));
  }
}
