package dev.outboxkit.relay.app.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Every alert links a runbook page that exists in docs/runbooks and is about that alert. */
class RunbooksTests {

  @Test
  void everyAlertsRunbookUrlPointsToAnExistingPageAboutIt() throws Exception {
    for (AlertRules.Rule alert : AlertRules.alerts()) {
      Path page = RunbookLinks.page(alert.annotations().get("runbook_url"));
      assertThat(page).as("runbook of %s", alert.alert()).isRegularFile();
      String text = Files.readString(page, StandardCharsets.UTF_8);
      assertThat(text.lines().findFirst().orElse(""))
          .as("title of %s", page)
          .startsWith("# ")
          .contains(alert.alert());
      assertThat(text).contains("## What it means", "## Confirm", "## What to do", "## Escalate");
    }
  }

  @Test
  void theRunbookIndexListsEveryAlert() throws Exception {
    String index =
        Files.readString(DeployFiles.runbooks().resolve("README.md"), StandardCharsets.UTF_8);
    for (AlertRules.Rule alert : AlertRules.alerts()) {
      String name = alert.alert().replace("Slow", "").replace("Fast", "");
      assertThat(index).as("index lists %s", alert.alert()).contains(name);
    }
  }
}
