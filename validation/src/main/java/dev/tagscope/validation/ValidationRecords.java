package dev.tagscope.validation;

import dev.tagscope.schemas.CriterionAgreement;
import dev.tagscope.schemas.LayerValidation;
import dev.tagscope.schemas.Topics;
import dev.tagscope.service.KafkaClientPolicy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;

/**
 * A {@link ValidationResult} as records of the validation topic ({@link Topics#VALIDATION},
 * compacted, key {@code model/layer}): one {@link LayerValidation} per tapped layer with every
 * criterion's agreement and the layer's pruning curves, and one with layer {@code *} holding the
 * whole-network curves, so the dashboard can show beside each ranking how far to trust it.
 */
public final class ValidationRecords {
  /** The layer name of the whole-network record. */
  public static final String NETWORK = "*";

  private ValidationRecords() {}

  /**
   * The records, keyed as on the topic.
   *
   * @param r the result
   * @param generatedAtMs wall-clock time, epoch ms
   * @return key {@code model/layer} to record, layers in graph order, the network last
   */
  public static Map<String, LayerValidation> of(ValidationResult r, long generatedAtMs) {
    Map<String, LayerValidation> out = new LinkedHashMap<>();
    int totalFilters = 0;
    for (ValidationResult.LayerResult l : r.layers()) {
      totalFilters += l.filters();
      List<CriterionAgreement> criteria = new ArrayList<>();
      l.agreement().forEach((name, a) -> criteria.add(CriterionAgreement.newBuilder().setCriterion(name)
          .setRho(a.rho()).setRhoLow(a.low()).setRhoHigh(a.high())
          .setRhoAccuracy(l.rhoAccuracy().getOrDefault(name, Double.NaN)).build()));
      out.put(Topics.modelLayerKey(r.model(), l.layer()), record(r, l.layer(), l.filters(), generatedAtMs, criteria, l.curves()));
    }
    out.put(Topics.modelLayerKey(r.model(), NETWORK), record(r, NETWORK, totalFilters, generatedAtMs, List.of(), r.network()));
    return out;
  }

  private static LayerValidation record(ValidationResult r, String layer, int filters, long at,
                                        List<CriterionAgreement> criteria, List<PruningCurve> curves) {
    return LayerValidation.newBuilder().setModel(r.model()).setLayer(layer).setGeneratedAtMs(at).setImages(r.images())
        .setCurveImages(r.curveImages()).setProbeImages(r.probeImages()).setFilters(filters)
        .setBaseAccuracy(r.baseAccuracy()).setBaseCrossEntropy(r.baseCrossEntropy())
        .setDefaultCriterion(r.defaultCriterion()).setCriteria(criteria)
        .setPruning(curves.stream().map(ValidationRecords::curve).collect(Collectors.toList())).build();
  }

  private static dev.tagscope.schemas.PruningCurve curve(PruningCurve c) {
    return dev.tagscope.schemas.PruningCurve.newBuilder().setCriterion(c.criterion())
        .setFractions(boxed(c.fractions())).setAccuracy(boxed(c.accuracy())).setSpread(boxed(c.spread()))
        .setAuc(c.auc()).build();
  }

  private static List<Double> boxed(double[] v) {
    return Arrays.stream(v).boxed().collect(Collectors.toList());
  }

  /**
   * Publishes the records to the validation topic with an idempotent producer (acks=all), and
   * waits until the broker has them.
   *
   * @param r the result
   * @param clientProperties bootstrap servers and security settings of the cluster; the
   *     serializers are Tagscope's and may not be set, nor may the settings {@link KafkaClientPolicy}
   *     pins ({@code acks=all}, {@code enable.idempotence=true}, ...) be changed
   * @return records written
   * @throws IllegalArgumentException when {@code clientProperties} sets one of Tagscope's own keys
   *     (a {@link dev.tagscope.service.PinnedSettingException} for a pinned one, naming it)
   * @throws IllegalStateException when the broker refuses or does not answer within the producer's timeouts
   */
  public static int publish(ValidationResult r, Map<String, Object> clientProperties) {
    for (String own : List.of(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG)) {
      if (clientProperties.containsKey(own)) {
        throw new IllegalArgumentException("--kafka " + own + " cannot be set: the validation publisher writes with the"
            + " validation topic's own serdes; remove it");
      }
    }
    // acks=all with idempotence (so no record is lost or doubled): pinned by the policy
    Map<String, Object> props = KafkaClientPolicy.idempotentProducer()
        .set(ProducerConfig.CLIENT_ID_CONFIG, "tagscope-validate").overrides(clientProperties).build();
    Map<String, LayerValidation> records = of(r, System.currentTimeMillis());
    Serializer<String> ks = Topics.VALIDATION.keySerde().serializer();
    Serializer<LayerValidation> vs = Topics.VALIDATION.valueSerde().serializer();
    try (KafkaProducer<String, LayerValidation> p = new KafkaProducer<>(props, ks, vs)) {
      List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
      records.forEach((k, v) -> sent.add(p.send(new ProducerRecord<>(Topics.VALIDATION.name(), k, v))));
      p.flush();
      for (java.util.concurrent.Future<?> f : sent) {
        f.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while publishing the validation", e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException("the broker refused the validation records on " + Topics.VALIDATION.name() + ": "
          + e.getCause().getMessage(), e.getCause());
    }
    return records.size();
  }
}
