package dev.tagscope.worker;

import ai.onnx.proto.OnnxMl;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Small ONNX image classifiers of four CNN families, built here so that layer tapping is tested
 * on architectures other than the bundled ResNet-32, with 3-channel input.
 *
 * <p>Node and tensor names follow a PyTorch export: node {@code /features/features.0/Conv} for
 * module {@code features.0}, output {@code /features/features.0/Conv_output_0}, functional
 * operators at the top level ({@code /Flatten}), folded weights named {@code onnx::Conv_k}, and
 * some weights passed through an {@code Identity} node, as an export does for shared weights.
 * The input is {@code input [N,3,H,W]} with a dynamic batch size; weights are random but seeded
 * (He-uniform convolutions, BatchNorm statistics near the identity), so every run builds the same
 * bytes. Opset 13, IR version 8.
 */
final class TestGraphs {
  private TestGraphs() {}

  /**
   * A VGG-like plain stack on {@code [N,3,32,32]}: convolutions with ReLU, LeakyReLU and SiLU
   * (written out as {@code x * Sigmoid(x)}), one unfolded BatchNorm, three max pools, flattened the old PyTorch way
   * ({@code x.view(x.size(0), -1)}: Shape, Gather, Unsqueeze, Concat, Reshape) into one Linear.
   *
   * <pre>
   * features.0  Conv 3-&gt;8 3x3        [8,32,32]    features.1  Relu
   * features.2  MaxPool 2             [8,16,16]
   * features.3  Conv 8-&gt;16 3x3       [16,16,16]   features.4  Relu
   * features.5  Conv 16-&gt;16 3x3      [16,16,16]   features.6  LeakyRelu   (weight via Identity)
   * features.7  MaxPool 2             [16,8,8]
   * features.8  Conv 16-&gt;32 3x3      [32,8,8]     features.9  BatchNorm, features.10 SiLU
   * features.11 MaxPool 2             [32,4,4]
   * view(N, -1)                       [512]        classifier.0 Linear 512-&gt;10
   * </pre>
   *
   * @return the model
   */
  static OnnxMl.ModelProto vgg() {
    Net net = new Net("vgg", 1, 3, 32, 32);
    String x = net.conv("/features/features.0/Conv", Net.INPUT, 3, 8, 3, 1, 1);
    x = net.node("/features/features.1/Relu", "Relu", x);
    x = net.maxPool("/features/features.2/MaxPool", x);
    x = net.conv("/features/features.3/Conv", x, 8, 16, 3, 1, 1);
    x = net.node("/features/features.4/Relu", "Relu", x);
    String shared = net.identity("/Identity", net.weight(9 * 16, 16, 16, 3, 3));
    x = net.conv("/features/features.5/Conv", x, shared, net.bias(16), 3, 1, 1);
    x = net.node("/features/features.6/LeakyRelu", "LeakyRelu", List.of(x), Net.floatAttr("alpha", 0.01f));
    x = net.maxPool("/features/features.7/MaxPool", x);
    x = net.conv("/features/features.8/Conv", x, 16, 32, 3, 1, 1);
    x = net.batchNorm("/features/features.9/BatchNormalization", x, 32);
    x = net.silu("/features/features.10", x);
    x = net.maxPool("/features/features.11/MaxPool", x);
    String shape = net.node("/Shape", "Shape", x);
    String batch = net.node("/Gather", "Gather", List.of(shape, net.intConstant("/Constant", new long[0], 0)),
        Net.intAttr("axis", 0));
    String batch1 = net.node("/Unsqueeze", "Unsqueeze", batch, net.intConstant("/Constant_1", new long[] {1}, 0));
    String newShape = net.node("/Concat", "Concat", List.of(batch1, net.intConstant("/Constant_2", new long[] {1}, -1)),
        Net.intAttr("axis", 0));
    x = net.node("/Reshape", "Reshape", x, newShape);
    return net.finish(net.linear("/classifier/classifier.0/Gemm", x, 512, 10));
  }

  /**
   * A MobileNetV2-like network on {@code [N,3,48,48]} with depthwise convolutions, BatchNorm left
   * unfolded and ReLU6 as {@code Clip(0, 6)}; block {@code k} is {@code features.k} as in
   * torchvision, each inverted residual's layers in {@code features.k.conv}.
   *
   * <pre>
   * features.0  Conv 3-&gt;16 3x3 /2, BN, ReLU6                             [16,24,24]
   * features.1  inverted residual t=1, 16-&gt;8 (no skip: width changes)   [8,24,24]
   *             dw 3x3, BN, ReLU6 | project 1x1, BN
   * features.2  inverted residual t=4, 8-&gt;12 /2 (no skip)               [12,12,12]
   *             expand 1x1, BN, ReLU6 | dw 3x3 /2, BN, ReLU6 | project 1x1, BN
   * features.3  inverted residual t=4, 12-&gt;12, skip (Add)              [12,12,12]
   * features.4  inverted residual t=4, 12-&gt;12, skip (Add)              [12,12,12]
   * features.5  Conv 12-&gt;32 1x1, BN, ReLU6 (weight via Identity)       [32,12,12]
   * GlobalAveragePool, Flatten, classifier.1 Linear 32-&gt;10
   * </pre>
   *
   * @return the model
   */
  static OnnxMl.ModelProto mobileNet() {
    Net net = new Net("mobilenet", 2, 3, 48, 48);
    String lo = net.floatConstant("/Constant", 0f);
    String hi = net.floatConstant("/Constant_1", 6f);
    String x = net.convBnRelu6("/features/features.0/features.0.", Net.INPUT, 3, 16, 3, 2, 1, lo, hi);
    x = net.invertedResidual("/features/features.1", x, 16, 8, 1, 1, lo, hi);
    x = net.invertedResidual("/features/features.2", x, 8, 12, 4, 2, lo, hi);
    x = net.invertedResidual("/features/features.3", x, 12, 12, 4, 1, lo, hi);
    x = net.invertedResidual("/features/features.4", x, 12, 12, 4, 1, lo, hi);
    String shared = net.identity("/Identity", net.weight(12, 32, 12, 1, 1));
    String s = "/features/features.5/features.5.";
    x = net.conv(s + "0/Conv", x, shared, net.bias(32), 1, 1, 1);
    x = net.batchNorm(s + "1/BatchNormalization", x, 32);
    x = net.node(s + "2/Clip", "Clip", x, lo, hi);
    x = net.node("/GlobalAveragePool", "GlobalAveragePool", x);
    x = net.node("/Flatten", "Flatten", List.of(x), Net.intAttr("axis", 1));
    return net.finish(net.linear("/classifier/classifier.1/Gemm", x, 32, 10));
  }

  /**
   * An EfficientNet-like network on {@code [N,3,40,40]}: blocks nested one level deeper than in
   * MobileNetV2, each stage {@code features.k} a module of blocks {@code features.k.j}, with
   * stem and head convolutions beside the stages; BatchNorm unfolded, SiLU written out as
   * {@code x * Sigmoid(x)} in stem and head, ReLU6 inside the blocks (no squeeze-excitation).
   *
   * <pre>
   * features.0    Conv 3-&gt;16 3x3 /2, BN, SiLU                       [16,20,20]
   * features.1.0  inverted residual t=1, 16-&gt;8 (no skip)            [8,20,20]
   * features.2.0  inverted residual t=4, 8-&gt;16 /2 (no skip)         [16,10,10]
   * features.2.1  inverted residual t=4, 16-&gt;16, skip (Add)        [16,10,10]
   * features.3    Conv 16-&gt;32 1x1, BN, SiLU (weight via Identity)  [32,10,10]
   * GlobalAveragePool, Flatten, classifier.1 Linear 32-&gt;10
   * </pre>
   *
   * @return the model
   */
  static OnnxMl.ModelProto efficientNet() {
    Net net = new Net("efficientnet", 4, 3, 40, 40);
    String lo = net.floatConstant("/Constant", 0f);
    String hi = net.floatConstant("/Constant_1", 6f);
    String x = net.conv("/features/features.0/features.0.0/Conv", Net.INPUT, 3, 16, 3, 2, 1);
    x = net.batchNorm("/features/features.0/features.0.1/BatchNormalization", x, 16);
    x = net.silu("/features/features.0/features.0.2", x);
    x = net.invertedResidual("/features/features.1/features.1.0", x, 16, 8, 1, 1, lo, hi);
    x = net.invertedResidual("/features/features.2/features.2.0", x, 8, 16, 4, 2, lo, hi);
    x = net.invertedResidual("/features/features.2/features.2.1", x, 16, 16, 4, 1, lo, hi);
    String shared = net.identity("/Identity", net.weight(16, 32, 16, 1, 1));
    x = net.conv("/features/features.3/features.3.0/Conv", x, shared, net.bias(32), 1, 1, 1);
    x = net.batchNorm("/features/features.3/features.3.1/BatchNormalization", x, 32);
    x = net.silu("/features/features.3/features.3.2", x);
    x = net.node("/GlobalAveragePool", "GlobalAveragePool", x);
    x = net.node("/Flatten", "Flatten", List.of(x), Net.intAttr("axis", 1));
    return net.finish(net.linear("/classifier/classifier.1/Gemm", x, 32, 10));
  }

  /**
   * A ResNet on {@code [N,3,40,40]} named like torchvision's (BatchNorm folded into the
   * convolutions, as a PyTorch export does): a stem, then two stages of two basic blocks, the
   * first block of stage 2 with a strided 1x1 {@code downsample} on its skip path.
   *
   * <pre>
   * conv1 Conv 3-&gt;8 3x3, relu, maxpool 2                                [8,40,40] then [8,20,20]
   * layer1.0, layer1.1  conv1 3x3, relu, conv2 3x3, Add skip, relu_1     [8,20,20]
   * layer2.0  conv1 3x3 /2 8-&gt;16, relu, conv2; downsample.0 1x1 /2; Add  [16,10,10]
   * layer2.1  (conv2 weight via Identity)                                [16,10,10]
   * avgpool (GlobalAveragePool), reshape to [N,16] (a Constant shape), fc Linear 16-&gt;10
   * </pre>
   *
   * @return the model
   */
  static OnnxMl.ModelProto resNet() {
    Net net = new Net("resnet", 3, 3, 40, 40);
    String x = net.conv("/conv1/Conv", Net.INPUT, 3, 8, 3, 1, 1);
    x = net.node("/relu/Relu", "Relu", x);
    x = net.maxPool("/maxpool/MaxPool", x);
    x = net.basicBlock("/layer1/layer1.0", x, 8, 8, 1, null);
    x = net.basicBlock("/layer1/layer1.1", x, 8, 8, 1, null);
    x = net.basicBlock("/layer2/layer2.0", x, 8, 16, 2, null);
    x = net.basicBlock("/layer2/layer2.1", x, 16, 16, 1, net.identity("/Identity", net.weight(9 * 16, 16, 16, 3, 3)));
    x = net.node("/avgpool/GlobalAveragePool", "GlobalAveragePool", x);
    x = net.node("/Reshape", "Reshape", x, net.intConstant("/Constant", new long[] {2}, 0, -1));
    return net.finish(net.linear("/fc/Gemm", x, 16, 10));
  }

  /**
   * Writes a model to a file.
   *
   * @param model the model
   * @param dir the folder
   * @param name file name, e.g. {@code vgg.onnx}
   * @return the file
   * @throws IOException when it cannot be written
   */
  static Path write(OnnxMl.ModelProto model, Path dir, String name) throws IOException {
    Path file = dir.resolve(name);
    Files.write(file, model.toByteArray());
    return file;
  }

  /** A graph under construction: each method adds nodes (and their seeded weights) and returns the output tensor. */
  private static final class Net {
    static final String INPUT = "input";

    private final OnnxMl.GraphProto.Builder graph;
    private final Random random;
    private int initializers;

    Net(String name, long seed, int channels, int height, int width) {
      this.random = new Random(seed);
      this.graph = OnnxMl.GraphProto.newBuilder().setName(name).addInput(OnnxMl.ValueInfoProto.newBuilder()
          .setName(INPUT).setType(floatType(OnnxMl.TensorShapeProto.newBuilder()
              .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
              .addDim(dim(channels)).addDim(dim(height)).addDim(dim(width)))));
    }

    String node(String name, String op, String... inputs) {
      return node(name, op, List.of(inputs));
    }

    String node(String name, String op, List<String> inputs, OnnxMl.AttributeProto... attributes) {
      String out = name + "_output_0";
      graph.addNode(OnnxMl.NodeProto.newBuilder().setName(name).setOpType(op).addAllInput(inputs).addOutput(out)
          .addAllAttribute(List.of(attributes)));
      return out;
    }

    /** A convolution with fresh weights {@code [cout, cin/groups, k, k]} and bias, padding {@code k/2}. */
    String conv(String name, String in, int cin, int cout, int k, int stride, int groups) {
      return conv(name, in, weight(cin / groups * k * k, cout, cin / groups, k, k), bias(cout), k, stride, groups);
    }

    String conv(String name, String in, String weight, String bias, int k, int stride, int groups) {
      return node(name, "Conv", List.of(in, weight, bias), intsAttr("kernel_shape", k, k),
          intsAttr("strides", stride, stride), intsAttr("pads", k / 2, k / 2, k / 2, k / 2),
          intsAttr("dilations", 1, 1), intAttr("group", groups));
    }

    String batchNorm(String name, String in, int c) {
      String scale = initializer("onnx::BatchNormalization_", uniform(c, 0.5f, 1.5f), c);
      String shift = initializer("onnx::BatchNormalization_", uniform(c, -0.1f, 0.1f), c);
      String mean = initializer("onnx::BatchNormalization_", uniform(c, -0.1f, 0.1f), c);
      String var = initializer("onnx::BatchNormalization_", uniform(c, 0.5f, 1.5f), c);
      return node(name, "BatchNormalization", List.of(in, scale, shift, mean, var), floatAttr("epsilon", 1e-5f));
    }

    String maxPool(String name, String in) {
      return node(name, "MaxPool", List.of(in), intsAttr("kernel_shape", 2, 2), intsAttr("strides", 2, 2));
    }

    /** {@code prefix} ends with the module's own name and a dot, e.g. {@code /features/features.0/features.0.}. */
    String convBnRelu6(String prefix, String in, int cin, int cout, int k, int stride, int groups, String lo,
                       String hi) {
      String x = conv(prefix + "0/Conv", in, cin, cout, k, stride, groups);
      x = batchNorm(prefix + "1/BatchNormalization", x, cout);
      return node(prefix + "2/Clip", "Clip", x, lo, hi);
    }

    /** torchvision's InvertedResidual at {@code scope}: its layers in {@code scope/conv/conv.i}. */
    String invertedResidual(String scope, String in, int cin, int cout, int expand, int stride, String lo, String hi) {
      String conv = scope + "/conv/conv.";
      int hidden = cin * expand;
      int i = 0;
      String x = in;
      if (expand != 1) {
        x = convBnRelu6(conv + i + "/conv." + i + ".", x, cin, hidden, 1, 1, 1, lo, hi);
        i++;
      }
      x = convBnRelu6(conv + i + "/conv." + i + ".", x, hidden, hidden, 3, stride, hidden, lo, hi);
      i++;
      x = conv(conv + i + "/Conv", x, hidden, cout, 1, 1, 1);
      i++;
      x = batchNorm(conv + i + "/BatchNormalization", x, cout);
      return stride == 1 && cin == cout ? node(scope + "/Add", "Add", in, x) : x;
    }

    /** torchvision's BasicBlock (BatchNorm folded) at {@code scope}; {@code conv2Weight} null for fresh weights. */
    String basicBlock(String scope, String in, int cin, int cout, int stride, String conv2Weight) {
      String x = conv(scope + "/conv1/Conv", in, cin, cout, 3, stride, 1);
      x = node(scope + "/relu/Relu", "Relu", x);
      x = conv2Weight == null ? conv(scope + "/conv2/Conv", x, cout, cout, 3, 1, 1)
          : conv(scope + "/conv2/Conv", x, conv2Weight, bias(cout), 3, 1, 1);
      String skip = stride == 1 && cin == cout ? in : conv(scope + "/downsample/downsample.0/Conv", in, cin, cout, 1,
          stride, 1);
      x = node(scope + "/Add", "Add", x, skip);
      return node(scope + "/relu_1/Relu", "Relu", x);
    }

    /** {@code Gemm} with {@code transB = 1}, as PyTorch exports {@code nn.Linear}. */
    String linear(String name, String in, int cin, int cout) {
      return node(name, "Gemm", List.of(in, weight(cin, cout, cin), bias(cout)), floatAttr("alpha", 1f),
          floatAttr("beta", 1f), intAttr("transB", 1));
    }

    /** SiLU as PyTorch exports it at opset 13: {@code scope/Sigmoid}, then {@code scope/Mul} of the input and that. */
    String silu(String scope, String in) {
      return node(scope + "/Mul", "Mul", in, node(scope + "/Sigmoid", "Sigmoid", in));
    }

    /** Passes a tensor through an {@code Identity} node (as an export does for a shared weight). */
    String identity(String name, String tensor) {
      return node(name, "Identity", tensor);
    }

    /** A {@code Constant} node holding int64 values in the given shape ({@code []} for a scalar). */
    String intConstant(String name, long[] dims, long... values) {
      OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setDataType(OnnxMl.TensorProto.DataType.INT64_VALUE);
      for (long v : values) {
        t.addInt64Data(v);
      }
      return constant(name, t, dims);
    }

    /** A {@code Constant} node holding one float scalar. */
    String floatConstant(String name, float value) {
      return constant(name, OnnxMl.TensorProto.newBuilder().setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE)
          .addFloatData(value));
    }

    private String constant(String name, OnnxMl.TensorProto.Builder value, long... dims) {
      for (long d : dims) {
        value.addDims(d);
      }
      return node(name, "Constant", List.of(), OnnxMl.AttributeProto.newBuilder().setName("value")
          .setType(OnnxMl.AttributeProto.AttributeType.TENSOR).setT(value).build());
    }

    /** He-uniform weights of the given shape for a layer with {@code fanIn} inputs per output. */
    String weight(int fanIn, long... dims) {
      int n = 1;
      for (long d : dims) {
        n *= (int) d;
      }
      float a = (float) Math.sqrt(6.0 / fanIn);
      return initializer("onnx::Conv_", uniform(n, -a, a), dims);
    }

    String bias(int c) {
      return initializer("onnx::Conv_", uniform(c, -0.1f, 0.1f), c);
    }

    private float[] uniform(int n, float lo, float hi) {
      float[] v = new float[n];
      for (int i = 0; i < n; i++) {
        v[i] = lo + (hi - lo) * random.nextFloat();
      }
      return v;
    }

    private String initializer(String prefix, float[] values, long... dims) {
      String name = prefix + (initializers++);
      OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name)
          .setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE);
      for (long d : dims) {
        t.addDims(d);
      }
      for (float v : values) {
        t.addFloatData(v);
      }
      graph.addInitializer(t);
      return name;
    }

    /** The model with {@code output} as its only graph output, declared {@code [N,10]}. */
    OnnxMl.ModelProto finish(String output) {
      graph.addOutput(OnnxMl.ValueInfoProto.newBuilder().setName(output).setType(floatType(
          OnnxMl.TensorShapeProto.newBuilder()
              .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("N")).addDim(dim(10)))));
      return OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("tagscope-test")
          .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(13)).setGraph(graph).build();
    }

    private static OnnxMl.TensorShapeProto.Dimension.Builder dim(long v) {
      return OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(v);
    }

    private static OnnxMl.TypeProto floatType(OnnxMl.TensorShapeProto.Builder shape) {
      return OnnxMl.TypeProto.newBuilder().setTensorType(OnnxMl.TypeProto.Tensor.newBuilder()
          .setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE).setShape(shape)).build();
    }

    static OnnxMl.AttributeProto intAttr(String name, long v) {
      return OnnxMl.AttributeProto.newBuilder().setName(name).setType(OnnxMl.AttributeProto.AttributeType.INT)
          .setI(v).build();
    }

    static OnnxMl.AttributeProto intsAttr(String name, long... v) {
      OnnxMl.AttributeProto.Builder a = OnnxMl.AttributeProto.newBuilder().setName(name)
          .setType(OnnxMl.AttributeProto.AttributeType.INTS);
      for (long x : v) {
        a.addInts(x);
      }
      return a.build();
    }

    static OnnxMl.AttributeProto floatAttr(String name, float v) {
      return OnnxMl.AttributeProto.newBuilder().setName(name).setType(OnnxMl.AttributeProto.AttributeType.FLOAT)
          .setF(v).build();
    }
  }
}
