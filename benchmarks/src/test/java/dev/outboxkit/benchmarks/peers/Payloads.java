package dev.outboxkit.benchmarks.peers;

import java.nio.charset.StandardCharsets;

/**
 * Event payloads of a fixed size that carry the time they were appended ({@code T<13 digits>|…}),
 * so the consumer measures append → arrival for every contender, whatever it does to the payload on
 * the way (namastack-outbox sends it as a JSON string, so the value starts with a quote).
 */
final class Payloads {

  private Payloads() {}

  static String of(long appendedAtMillis, int size) {
    StringBuilder text = new StringBuilder(size);
    text.append('T').append(String.format("%013d", appendedAtMillis)).append('|');
    for (int i = text.length(); i < size; i++) {
      text.append((char) ('a' + i % 26));
    }
    return text.toString();
  }

  /** The append time in a received value, or -1 when the value carries none. */
  static long appendedAt(byte[] value) {
    for (int i = 0; i < Math.min(4, value.length); i++) {
      if (value[i] == 'T' && value.length >= i + 14) {
        return Long.parseLong(new String(value, i + 1, 13, StandardCharsets.US_ASCII));
      }
    }
    return -1;
  }
}
