package dev.outboxkit.test;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Rewrites the database part of {@code jdbc:<driver>://host[:port]/[database][?params]} URLs. */
final class JdbcUrls {

  private static final Pattern URL =
      Pattern.compile("(jdbc:[a-z0-9]+://[^/?]+)(?:/([^?;]*))?([?;].*)?", Pattern.DOTALL);

  private JdbcUrls() {}

  static String withDatabase(String url, String database) {
    Matcher matcher = URL.matcher(url);
    if (!matcher.matches()) {
      throw new IllegalArgumentException(
          "Cannot find the database part of JDBC URL '"
              + url
              + "'; expected jdbc:<driver>://host[:port]/[database][?params]");
    }
    String params = matcher.group(3) == null ? "" : matcher.group(3);
    return matcher.group(1) + "/" + database + params;
  }
}
