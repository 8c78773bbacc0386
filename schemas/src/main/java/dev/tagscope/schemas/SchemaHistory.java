package dev.tagscope.schemas;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;

/**
 * Every released version of each record schema, kept under
 * {@code src/main/resources/dev/tagscope/schemas/history/<Record>/v<N>.avsc}.
 *
 * <p>Readers register these so that records written by an older producer stay readable
 * after a schema change (Avro schema resolution, Avro 1.12 specification, "Schema
 * Resolution"). To change a schema: edit {@code src/main/avro/<Record>.avsc}, copy it to
 * the next {@code v<N>.avsc}, and let {@code SchemaCompatibilityTest} prove that the new
 * version reads every older one.
 */
public final class SchemaHistory {
  private SchemaHistory() {}

  /**
   * Released versions of one record, oldest first.
   *
   * @param recordName simple name of the record, e.g. {@code "ProbeSpec"}
   * @return schemas v1..vN; empty when the record has no history folder
   * @throws UncheckedIOException when a history file exists but cannot be read
   * @throws org.apache.avro.SchemaParseException when a history file is not a valid schema
   */
  public static List<Schema> versions(String recordName) {
    List<Schema> out = new ArrayList<>();
    for (int v = 1; ; v++) {
      String path = "history/" + recordName + "/v" + v + ".avsc";
      try (InputStream in = SchemaHistory.class.getResourceAsStream(path)) {
        if (in == null) {
          return out;
        }
        // A fresh parser per file: each version defines the same full names.
        out.add(new Schema.Parser().parse(in));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read schema history " + path, e);
      }
    }
  }
}
