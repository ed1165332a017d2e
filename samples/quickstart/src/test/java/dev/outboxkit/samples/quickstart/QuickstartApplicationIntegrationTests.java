package dev.outboxkit.samples.quickstart;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.test.ServerTest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;

/** The quickstart as a user runs it: embedded PostgreSQL, Flyway, HTTP. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ServerTest
class QuickstartApplicationIntegrationTests {

  @BeforeAll
  static void embeddedDefault() {
    QuickstartApplication.useEmbeddedPostgresUnlessConfigured(new String[0]);
  }

  @LocalServerPort int port;
  @Autowired JdbcTemplate jdbc;

  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  void placingAnOrderStoresTheOrderAndItsEvent() throws Exception {
    HttpResponse<String> response = post("{\"customer\":\"alice\",\"amountMinor\":1250}");
    assertThat(response.statusCode()).isEqualTo(201);
    String orderId = response.body().replaceAll(".*\"orderId\":\"([^\"]+)\".*", "$1");

    assertThat(
            jdbc.queryForObject("SELECT count(*) FROM orders WHERE id = ?", Integer.class, orderId))
        .isOne();
    assertThat(
            jdbc.queryForObject(
                "SELECT convert_from(payload, 'UTF8') FROM outbox_event WHERE aggregateid = ?",
                String.class,
                orderId))
        .isEqualTo("{\"orderId\":\"" + orderId + "\",\"customer\":\"alice\",\"amountMinor\":1250}");
    HttpResponse<String> outbox =
        http.send(
            HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/outbox")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(outbox.body()).contains(orderId).contains("OrderPlaced");
  }

  @Test
  void invalidOrdersGetAProblemAndWriteNothing() throws Exception {
    int before = jdbc.queryForObject("SELECT count(*) FROM outbox_event", Integer.class);
    HttpResponse<String> response = post("{\"customer\":\"\",\"amountMinor\":1250}");
    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(response.body()).contains("customer must not be blank");
    assertThat(jdbc.queryForObject("SELECT count(*) FROM outbox_event", Integer.class))
        .isEqualTo(before);
  }

  private HttpResponse<String> post(String json) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/orders"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
