package dev.outboxkit.test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import org.junit.jupiter.api.Test;

class JdbcUrlsTests {

  @Test
  void replacesTheDatabaseAndKeepsParameters() {
    assertThat(JdbcUrls.withDatabase("jdbc:postgresql://localhost:5432/postgres?user=a", "t1"))
        .isEqualTo("jdbc:postgresql://localhost:5432/t1?user=a");
    assertThat(JdbcUrls.withDatabase("jdbc:mariadb://127.0.0.1:3306/mysql", "t2"))
        .isEqualTo("jdbc:mariadb://127.0.0.1:3306/t2");
  }

  @Test
  void addsTheDatabaseWhenTheUrlHasNone() {
    assertThat(JdbcUrls.withDatabase("jdbc:mysql://db:3306", "t3"))
        .isEqualTo("jdbc:mysql://db:3306/t3");
    assertThat(JdbcUrls.withDatabase("jdbc:mysql://db:3306?useSSL=false", "t3"))
        .isEqualTo("jdbc:mysql://db:3306/t3?useSSL=false");
  }

  @Test
  void rejectsUrlsWithoutHost() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> JdbcUrls.withDatabase("jdbc:h2:mem:x", "t"))
        .withMessageContaining("jdbc:h2:mem:x");
  }
}
