package dev.outboxkit.outbox.internal;

import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * Maps an aggregate id to an outbox partition. CRC-32 of the UTF-8 bytes: stable across JVMs,
 * releases and languages, so every writer and relay agrees forever; it is never changed.
 */
public final class Partitions {

  private Partitions() {}

  public static int of(String aggregateId, int partitions) {
    CRC32 crc = new CRC32();
    crc.update(aggregateId.getBytes(StandardCharsets.UTF_8));
    return (int) (crc.getValue() % partitions);
  }
}
