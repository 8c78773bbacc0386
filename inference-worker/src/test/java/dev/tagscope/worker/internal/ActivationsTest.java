package dev.tagscope.worker.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Activations and ranks from the graph alone, on a hand-built graph that is only analysed, never run. */
class ActivationsTest {

  private static OnnxMl.NodeProto node(String op, String out, String... in) {
    return OnnxMl.NodeProto.newBuilder().setName("/" + out + "/" + op).setOpType(op).addOutput(out)
        .addAllInput(List.of(in)).build();
  }

  private static OnnxMl.TensorProto.Builder tensor(String name, int type, long... dims) {
    OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name).setDataType(type);
    for (long d : dims) {
      t.addDims(d);
    }
    return t;
  }

  @Test
  void weightsConstantsAndShapeArithmeticAreNoActivationsAndRanksFollowTheOperators() {
    int f = OnnxMl.TensorProto.DataType.FLOAT_VALUE;
    int i64 = OnnxMl.TensorProto.DataType.INT64_VALUE;
    OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder()
        .addInput(OnnxMl.ValueInfoProto.newBuilder().setName("x").setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(f).setShape(OnnxMl.TensorShapeProto
                .newBuilder().addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(3))
                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(8))
                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(8))))))
        .addInitializer(tensor("w", f, 4, 3, 1, 1))
        .addInitializer(tensor("b", f, 4))
        .addInitializer(tensor("flat", i64, 2).addInt64Data(0).addInt64Data(-1))
        .addNode(node("Identity", "wi", "w"))
        .addNode(node("Conv", "c", "x", "wi", "b"))
        .addNode(OnnxMl.NodeProto.newBuilder().setName("/Constant").setOpType("Constant").addOutput("one")
            .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("value")
                .setType(OnnxMl.AttributeProto.AttributeType.TENSOR).setT(tensor("", i64, 1).addInt64Data(1))))
        .addNode(node("Shape", "sh", "c"))
        .addNode(node("Gather", "dim1", "sh", "one"))
        .addNode(node("Reshape", "r", "c", "flat"))
        .addNode(node("Reshape", "rs", "c", "sh"))
        .addNode(node("Unsqueeze", "u", "c").toBuilder().addAttribute(OnnxMl.AttributeProto.newBuilder()
            .setName("axes").setType(OnnxMl.AttributeProto.AttributeType.INTS).addInts(0)).build())
        .addNode(node("Squeeze", "sq", "u", "one"))
        .addNode(node("Add", "a", "c", "b"))
        .addNode(node("Gemm", "y", "r", "w"))
        .addNode(node("MyOp", "m", "c"))
        .build();
    Activations acts = Activations.of(g);
    for (String constant : new String[] {"w", "wi", "one", "sh", "dim1"}) {
      assertFalse(acts.isActivation(constant), constant);
    }
    assertEquals(4, acts.rank("wi"), "an Identity keeps the rank, but a weight stays a weight");
    for (String activation : new String[] {"x", "c", "r", "rs", "u", "sq", "a", "y", "m"}) {
      assertTrue(acts.isActivation(activation), activation);
    }
    assertEquals(4, acts.rank("c"));
    assertTrue(acts.isFeatureMap("c"));
    assertEquals(1, acts.rank("sh"));
    assertEquals(1, acts.rank("dim1"), "Gather of rank 1 by rank 1");
    assertEquals(2, acts.rank("r"), "Reshape to a constant shape of two values");
    assertEquals(Activations.UNKNOWN, acts.rank("rs"), "Reshape to a shape computed at run time");
    assertEquals(5, acts.rank("u"), "Unsqueeze with axes as an attribute (opset 11)");
    assertEquals(4, acts.rank("sq"), "Squeeze with axes as a constant input (opset 13)");
    assertEquals(4, acts.rank("a"), "broadcast to the largest rank");
    assertEquals(2, acts.rank("y"));
    assertEquals(Activations.UNKNOWN, acts.rank("m"), "an operator the analysis does not know");
    assertFalse(acts.isFeatureMap("m"));
  }
}
