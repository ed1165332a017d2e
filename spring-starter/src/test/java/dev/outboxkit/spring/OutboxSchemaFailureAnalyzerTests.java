package dev.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxSchemaException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.BeanCreationException;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.diagnostics.FailureAnalyzer;
import org.springframework.core.io.support.SpringFactoriesLoader;

class OutboxSchemaFailureAnalyzerTests {

  @Test
  void explainsAMissingColumnAndWhatToDo() {
    Throwable failure =
        new BeanCreationException(
            "outboxSchemaInitializer",
            "init failed",
            new OutboxSchemaException("lacks", "outbox_event", List.of("attempts")));
    FailureAnalysis analysis =
        SpringFactoriesLoader.forDefaultResourceLocation()
            // Some of Boot's own analyzers need constructor arguments; only ours matters here.
            .load(
                FailureAnalyzer.class,
                null,
                SpringFactoriesLoader.FailureHandler.handleMessage((message, ignored) -> {}))
            .stream()
            .map(analyzer -> analyzer.analyze(failure))
            .filter(result -> result != null)
            .findFirst()
            .orElseThrow();
    assertThat(analysis.getDescription())
        .isEqualTo("The table 'outbox_event' lacks column(s) [attempts].");
    assertThat(analysis.getAction())
        .contains("outbox.store.auto-create=true")
        .contains("outbox.store.table-name")
        .contains("outbox.store.validate-schema=false");
  }
}
