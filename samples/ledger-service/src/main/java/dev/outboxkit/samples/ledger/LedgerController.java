package dev.outboxkit.samples.ledger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;

/** Balances, and the audit the load generator checks the run against. */
@RestController
public class LedgerController {

  /** One currency's balance of an account: credits minus debits. */
  public record Balance(String account, String currency, long balanceMinor) {}

  /** How many entries of each kind a payment has: exactly one of each that happened. */
  public record PaymentBookings(String paymentId, int authorized, int captured, int refunded) {}

  private final JdbcTemplate jdbc;
  private final MeterRegistry meters;

  public LedgerController(JdbcTemplate jdbc, MeterRegistry meters) {
    this.jdbc = jdbc;
    this.meters = meters;
  }

  @GetMapping("/accounts/{account}/balance")
  public List<Balance> balance(@PathVariable String account) {
    return jdbc.query(
        "SELECT currency, SUM(credit_minor) - SUM(debit_minor) AS balance FROM ledger_line"
            + " WHERE account = ? GROUP BY currency ORDER BY currency",
        (rs, n) -> new Balance(account, rs.getString("currency"), rs.getLong("balance")),
        account);
  }

  /** Entries per payment and kind, counted by distinct entry (one entry = two lines). */
  @GetMapping("/ledger/payments")
  public List<PaymentBookings> bookings() {
    return jdbc.query(
        "SELECT payment_id,"
            + " COUNT(DISTINCT CASE WHEN event_type = 'PaymentAuthorized' THEN entry_id END) AS a,"
            + " COUNT(DISTINCT CASE WHEN event_type = 'PaymentCaptured' THEN entry_id END) AS c,"
            + " COUNT(DISTINCT CASE WHEN event_type = 'PaymentRefunded' THEN entry_id END) AS r"
            + " FROM ledger_line GROUP BY payment_id",
        (rs, n) ->
            new PaymentBookings(
                rs.getString("payment_id"), rs.getInt("a"), rs.getInt("c"), rs.getInt("r")));
  }

  /**
   * Totals, whether the ledger balances (all debits = all credits, and within every entry), the
   * duplicates the inbox skipped since start, and the event-to-booking latency percentiles.
   */
  @GetMapping("/ledger/summary")
  public Map<String, Object> summary() {
    Map<String, Object> summary = new LinkedHashMap<>();
    Map<String, Object> totals =
        jdbc.queryForMap(
            "SELECT COUNT(*) AS lines, COUNT(DISTINCT entry_id) AS entries,"
                + " COALESCE(SUM(debit_minor), 0) AS debits,"
                + " COALESCE(SUM(credit_minor), 0) AS credits FROM ledger_line");
    long debits = ((Number) totals.get("debits")).longValue();
    long credits = ((Number) totals.get("credits")).longValue();
    Integer unbalancedEntries =
        jdbc.queryForObject(
            "SELECT COUNT(*) FROM (SELECT entry_id FROM ledger_line GROUP BY entry_id"
                + " HAVING SUM(debit_minor) <> SUM(credit_minor)) u",
            Integer.class);
    summary.put("lines", ((Number) totals.get("lines")).longValue());
    summary.put("entries", ((Number) totals.get("entries")).longValue());
    summary.put("debitsMinor", debits);
    summary.put("creditsMinor", credits);
    summary.put("unbalancedEntries", unbalancedEntries);
    summary.put(
        "balanced", debits == credits && unbalancedEntries != null && unbalancedEntries == 0);
    summary.put(
        "duplicatesSkipped",
        meters.find("outbox.inbox.duplicates").counters().stream()
            .mapToDouble(Counter::count)
            .sum());
    summary.put("latencyMillis", latency());
    return summary;
  }

  private Map<String, Object> latency() {
    List<Long> millis = new ArrayList<>();
    jdbc.query(
        "SELECT event_time, booked_at FROM ledger_line WHERE debit_minor > 0",
        rs -> {
          Timestamp event = rs.getTimestamp(1);
          Timestamp booked = rs.getTimestamp(2);
          millis.add(booked.getTime() - event.getTime());
        });
    millis.sort(null);
    Map<String, Object> latency = new LinkedHashMap<>();
    latency.put("count", millis.size());
    if (!millis.isEmpty()) {
      latency.put("p50", percentile(millis, 0.50));
      latency.put("p99", percentile(millis, 0.99));
      latency.put("max", millis.get(millis.size() - 1));
    }
    return latency;
  }

  private static long percentile(List<Long> sorted, double q) {
    int index = (int) Math.ceil(q * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
  }
}
