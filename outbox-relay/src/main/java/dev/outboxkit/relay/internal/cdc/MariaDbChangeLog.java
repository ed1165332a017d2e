package dev.outboxkit.relay.internal.cdc;

/**
 * MariaDB's change log: the binlog as for MySQL, read by the MariaDB connector (the MySQL connector
 * fails on MariaDB, and the other way round), whose TLS mode names differ.
 */
final class MariaDbChangeLog extends MySqlChangeLog {

  @Override
  String dialectName() {
    return "mariadb";
  }

  @Override
  String urlPrefix() {
    return "jdbc:mariadb:";
  }

  @Override
  String connectorClass() {
    return "io.debezium.connector.mariadb.MariaDbConnector";
  }

  @Override
  String connectorArtifact() {
    return "debezium-connector-mariadb";
  }

  @Override
  boolean mySqlServer() {
    return false;
  }
}
