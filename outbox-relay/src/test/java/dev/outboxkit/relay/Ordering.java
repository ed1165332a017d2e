package dev.outboxkit.relay;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Checks what a consumer that deduplicates on the event id sees: per key, the first copies of the
 * events must come in the order they were written. Values are {@code "<n>"} or {@code "<n>:..."},
 * where {@code n} counts a key's events from 0.
 */
record Ordering(int distinct, int duplicates, List<String> violations) {

  static Ordering of(List<ConsumerRecord<byte[], byte[]>> records) {
    Map<String, Integer> last = new HashMap<>();
    Set<String> seen = new HashSet<>();
    List<String> violations = new ArrayList<>();
    int duplicates = 0;
    for (ConsumerRecord<byte[], byte[]> record : records) {
      String key = new String(record.key(), StandardCharsets.UTF_8);
      String value = new String(record.value(), StandardCharsets.UTF_8);
      int n = Integer.parseInt(value.split(":", 2)[0]);
      if (!seen.add(key + "#" + n)) {
        duplicates++;
        continue;
      }
      int previous = last.getOrDefault(key, -1);
      if (n != previous + 1) {
        violations.add(key + ": " + n + " after " + previous);
      }
      last.put(key, n);
    }
    return new Ordering(seen.size(), duplicates, violations);
  }
}
