package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.relay.cdc.CdcOptions;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The security settings of the engine's own connections. Debezium does not read the JDBC URL: it
 * takes host, port and database as separate properties, so the URL's TLS parameters would be lost
 * and the change log read in clear. They are mapped here to the connector's properties (PostgreSQL:
 * {@code database.sslmode}, {@code database.sslrootcert}, ..., which Debezium hands to pgjdbc;
 * MySQL/MariaDB: {@code database.ssl.mode} and the trust and key stores, which its binlog reader
 * also uses). A TLS parameter the connector cannot honour fails the start naming it, rather than
 * being dropped. The Kafka offsets store gets the relay's Kafka security settings the same way.
 */
final class CdcTls {

  static final String URL_PROPERTY = "outbox.relay.cdc.url";

  /** pgjdbc's TLS parameters; Debezium passes every {@code database.*} property to the driver. */
  private static final Set<String> PG_PARAMETERS =
      Set.of(
          "sslmode",
          "sslrootcert",
          "sslcert",
          "sslkey",
          "sslpassword",
          "sslfactory",
          "sslfactoryarg",
          "sslhostnameverifier",
          "sslpasswordcallback",
          "sslResponseTimeout",
          "sslNegotiation");

  private static final Set<String> PG_MODES =
      Set.of("disable", "allow", "prefer", "require", "verify-ca", "verify-full");

  /** A parameter that looks like TLS but is not mapped: refused, never silently dropped. */
  private static final Pattern TLS_LIKE =
      Pattern.compile("(?i).*(ssl|tls|truststore|keystore|cert|cipher).*");

  private CdcTls() {}

  /**
   * The connector's TLS properties for the URL's TLS parameters; empty when it has none (the
   * connector's defaults then apply: {@code prefer} on PostgreSQL, no TLS on MySQL/MariaDB).
   *
   * @throws IllegalArgumentException naming {@value #URL_PROPERTY} and the parameter, for a value
   *     or parameter the connector cannot honour
   */
  static Map<String, String> properties(String jdbcUrl, String connectorClass) {
    Map<String, String> params = parameters(jdbcUrl);
    Map<String, String> p = new LinkedHashMap<>();
    ChangeLogSource.ofConnector(connectorClass).tlsProperties(jdbcUrl, params, p);
    return p;
  }

  static void postgres(Map<String, String> params, Map<String, String> p) {
    params.forEach(
        (name, value) -> {
          if (PG_PARAMETERS.contains(name)) {
            if (name.equals("sslmode") && !PG_MODES.contains(value)) {
              throw refused(name, value, "must be one of " + String.join(", ", sorted(PG_MODES)));
            }
            p.put("database." + name, value);
          } else if (name.equals("ssl")) {
            // pgjdbc: ssl=true without sslmode means verify-full.
            if (!"false".equalsIgnoreCase(value) && !params.containsKey("sslmode")) {
              p.put("database.sslmode", "verify-full");
            }
          } else if (TLS_LIKE.matcher(name).matches()) {
            throw refused(
                name,
                value,
                "is not a pgjdbc TLS parameter CDC knows (" + sorted(PG_PARAMETERS) + ")");
          }
        });
  }

  /**
   * MySQL Connector/J ({@code jdbc:mysql:}) or MariaDB Connector/J ({@code jdbc:mariadb:}) names,
   * rendered for the MySQL or the MariaDB connector, whose mode names differ.
   */
  static void binlog(
      Map<String, String> params, Map<String, String> p, boolean mariaDbUrl, boolean mariaDb) {
    String trust = mariaDbUrl ? "trustStore" : "trustCertificateKeyStoreUrl";
    String trustPassword = mariaDbUrl ? "trustStorePassword" : "trustCertificateKeyStorePassword";
    String key = mariaDbUrl ? "keyStore" : "clientCertificateKeyStoreUrl";
    String keyPassword = mariaDbUrl ? "keyStorePassword" : "clientCertificateKeyStorePassword";
    Set<String> storeTypes =
        mariaDbUrl
            ? Set.of("trustStoreType", "keyStoreType")
            : Set.of("trustCertificateKeyStoreType", "clientCertificateKeyStoreType");
    params.forEach(
        (name, value) -> {
          if (name.equals("sslMode")) {
            p.put("database.ssl.mode", mode(name, value, mariaDb));
          } else if (name.equals(trust)) {
            p.put("database.ssl.truststore", filePath(name, value));
          } else if (name.equals(trustPassword)) {
            p.put("database.ssl.truststore.password", value);
          } else if (name.equals(key)) {
            p.put("database.ssl.keystore", filePath(name, value));
          } else if (name.equals(keyPassword)) {
            p.put("database.ssl.keystore.password", value);
          } else if (storeTypes.contains(name)) {
            // The binlog reader opens stores with the JDK's default type, which reads both.
            if (!Set.of("JKS", "PKCS12").contains(value.toUpperCase(Locale.ROOT))) {
              throw refused(name, value, "must be JKS or PKCS12 (the binlog reader's formats)");
            }
          } else if (name.equals("useSSL") && "false".equalsIgnoreCase(value)) {
            p.putIfAbsent("database.ssl.mode", mariaDb ? "disable" : "disabled");
          } else if (TLS_LIKE.matcher(name).matches()) {
            throw refused(
                name,
                value,
                "is not honoured by the binlog reader; use sslMode, "
                    + trust
                    + ", "
                    + trustPassword
                    + ", "
                    + key
                    + " and "
                    + keyPassword);
          }
        });
  }

  private static String mode(String name, String value, boolean mariaDb) {
    String m = value.toLowerCase(Locale.ROOT).replace('_', '-');
    String neutral =
        switch (m) {
          case "disabled", "disable" -> "disable";
          case "preferred", "prefer" -> "prefer";
          case "required", "require", "trust" -> "trust";
          case "verify-ca" -> "verify-ca";
          case "verify-identity", "verify-full" -> "verify-full";
          default -> throw refused(name, value, "is not a TLS mode");
        };
    if (mariaDb) {
      if (neutral.equals("prefer")) {
        throw refused(
            name, value, "has no MariaDB connector equivalent; use REQUIRED or VERIFY_IDENTITY");
      }
      return neutral;
    }
    return switch (neutral) {
      case "disable" -> "disabled";
      case "prefer" -> "preferred";
      case "trust" -> "required";
      case "verify-ca" -> "verify_ca";
      default -> "verify_identity";
    };
  }

  /** Debezium takes a file path for the stores (it prefixes {@code file:} itself for JDBC). */
  private static String filePath(String name, String value) {
    if (!value.contains(":")) {
      return value;
    }
    URI uri;
    try {
      uri = URI.create(value);
    } catch (IllegalArgumentException e) {
      throw refused(name, value, "must be a file path or a file: URL");
    }
    if (!"file".equalsIgnoreCase(uri.getScheme()) || uri.getPath() == null) {
      throw refused(
          name, value, "must be a file path or a file: URL (the binlog reader reads files)");
    }
    return uri.getPath();
  }

  /**
   * The relay's Kafka security producer properties ({@code security.protocol}, {@code ssl.*},
   * {@code sasl.*}) for Kafka Connect's offsets store, whose admin client, producer and consumer
   * take the engine's top-level properties: without them it would talk to a TLS or SASL cluster in
   * plaintext and never start.
   */
  static Map<String, String> kafkaSecurity(Map<String, ?> producerProperties) {
    Map<String, String> p = new LinkedHashMap<>();
    producerProperties.forEach(
        (name, value) -> {
          if (value != null
              && (name.equals("security.protocol")
                  || name.startsWith("ssl.")
                  || name.startsWith("sasl."))) {
            p.put(name, asString(value));
          }
        });
    return p;
  }

  private static String asString(Object value) {
    if (value instanceof Class<?> c) {
      return c.getName();
    }
    if (value instanceof org.apache.kafka.common.config.types.Password secret) {
      return secret.value();
    }
    if (value instanceof Iterable<?> list) {
      return String.join(
          ",",
          java.util.stream.StreamSupport.stream(list.spliterator(), false)
              .map(String::valueOf)
              .toList());
    }
    return String.valueOf(value);
  }

  /**
   * Connects once with the engine's URL and credentials, so a TLS failure (wrong CA, host name
   * mismatch, server without TLS) stops the start with a message naming the property, instead of
   * failing later on the engine's thread. Skipped when no JDBC driver on the class path accepts the
   * URL (the engine then reports its own connection errors).
   */
  static void verifyConnection(CdcOptions options) {
    String url = options.jdbcUrl();
    try {
      DriverManager.getDriver(url);
    } catch (SQLException noDriver) {
      return;
    }
    try (Connection c =
        DriverManager.getConnection(url, CdcPreflight.connectionProperties(options))) {
      c.isValid(5);
    } catch (SQLException e) {
      Map<String, String> tls = parameters(url);
      tls.keySet().removeIf(n -> !TLS_LIKE.matcher(n).matches());
      tls.replaceAll((n, v) -> dev.outboxkit.relay.internal.Secrets.isSecret(n) ? "****" : v);
      throw new IllegalStateException(
          "CDC could not connect with "
              + URL_PROPERTY
              + " (TLS parameters "
              + (tls.isEmpty() ? "none" : tls.toString())
              + ") as "
              + options.username()
              + ": "
              + dev.outboxkit.relay.internal.Secrets.maskedUrl(e.getMessage())
              + ". Check the URL's TLS settings (for a certificate error: sslrootcert on"
              + " PostgreSQL, trustCertificateKeyStoreUrl / trustStore on MySQL/MariaDB, and that"
              + " the certificate names the URL's host), the user and outbox.relay.cdc.password.",
          CdcPreflight.causeUnlessItQuotesASecret(e));
    }
  }

  /** The URL's query parameters, decoded, in order; the last of a repeated name wins. */
  static Map<String, String> parameters(String jdbcUrl) {
    Map<String, String> params = new LinkedHashMap<>();
    String query = CdcEngineConfig.sourceUrl(jdbcUrl).getRawQuery();
    if (query == null || query.isEmpty()) {
      return params;
    }
    for (String pair : query.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name =
          URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String value =
          eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      params.put(name, value);
    }
    return params;
  }

  private static IllegalArgumentException refused(String name, @Nullable String value, String why) {
    String shown =
        dev.outboxkit.relay.internal.Secrets.isSecret(name)
            ? dev.outboxkit.relay.internal.Secrets.MASK
            : value;
    return new IllegalArgumentException(
        URL_PROPERTY + " parameter " + name + "=" + shown + " " + why + " for CDC");
  }

  private static java.util.List<String> sorted(Set<String> names) {
    return names.stream().sorted().toList();
  }
}
