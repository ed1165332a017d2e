package dev.outboxkit.relay.app.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The items of a listing in both of a command's outputs at once: each item's cells for the text
 * table and its object for the JSON document, so the two cannot fall out of step (one row, one
 * object, same order).
 */
final class Listing {

  private final List<List<String>> rows = new ArrayList<>();
  private final List<Map<String, Object>> docs = new ArrayList<>();

  /**
   * Adds an item: its table cells, and an empty JSON object (keys keep their order) for the caller
   * to fill.
   */
  Map<String, Object> add(List<String> cells) {
    rows.add(cells);
    Map<String, Object> doc = new LinkedHashMap<>();
    docs.add(doc);
    return doc;
  }

  /** The table of the items under {@code header} (only for people; see {@link Output#table}). */
  void table(Output out, List<String> header) {
    out.table(header, rows);
  }

  /** The items' JSON objects, in order. */
  List<Map<String, Object>> docs() {
    return docs;
  }
}
