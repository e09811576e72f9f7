// Seed 001's 1-D convolution classifier ("基于 1D 卷积的序列分类") on Fashion-MNIST, each picture read as a sequence
// of 28 steps (its rows) of 28 values: Conv1D 64, Conv1D 64, MaxPooling1D(3), Conv1D 128, Conv1D 128,
// GlobalAveragePooling1D, Dropout(0.5), and a softmax over the 10 classes (the seed ends in one sigmoid unit for its
// two-class task). A second model reads the rows causally (each step sees only the rows above it), with dilations; a
// third reads them with an LSTM(128).
//   dotnet run -c Release --project samples/Sequences -- [epochs (5)] [training samples (60000)]
using System.Diagnostics;
using System.Globalization;
using NetGen;
using NetGen.Data;

int epochs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
int limit = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 60000;

var (xTrain, yTrain, xTest, yTest) = FashionMnist.Load();
xTrain = xTrain.Slice(0, limit).Reshape(-1, 28, 28) / 255f; // (samples, steps, channels)
yTrain = yTrain.Slice(0, limit);
xTest = xTest.Reshape(-1, 28, 28) / 255f;

foreach (Model model in new Model[] { new RowConv1D(), new CausalConv1D(), new RowLstm() })
{
    using var m = model;
    Console.WriteLine(m.Summary());
    m.Compile(new Adam(1e-3f), Loss.SparseCategoricalCrossEntropy, Metric.Accuracy);
    var clock = Stopwatch.StartNew();
    var history = m.Fit(xTrain, yTrain, epochs: epochs, batchSize: 128, validationData: (xTest, yTest));
    Directory.CreateDirectory("plots");
    history.Plot(Path.Combine("plots", m.Name + "-history.svg")); // the training curves
    double seconds = clock.Elapsed.TotalSeconds;
    var (_, accuracy) = m.Evaluate(xTest, yTest, batchSize: 256);
    Console.WriteLine($"{m.Name}: Test accuracy: {accuracy:F4} ({seconds / epochs:F1} s an epoch)");
}

// An LSTM reading the rows top to bottom, its last state classified (seed 001's "基于 LSTM 的序列分类" without the
// Embedding: the rows are already vectors).
[Network(28, 28)]
[LSTM(128)]
[Dense(10, Activation = Activation.Softmax)]
public partial class RowLstm;

// Seed 001's Conv1D classifier, on 28 steps of 28 values.
[Network(28, 28)]
[Conv1D(64, 3, Activation = Activation.Relu)]
[Conv1D(64, 3, Activation = Activation.Relu)]
[MaxPooling1D(3)]
[Conv1D(128, 3, Activation = Activation.Relu)]
[Conv1D(128, 3, Activation = Activation.Relu)]
[GlobalAveragePooling1D]
[Dropout(0.5)]
[Dense(10, Activation = Activation.Softmax)]
public partial class RowConv1D;

// A causal stack (WaveNet's pattern): dilations 1, 2, 4 see 15 rows, none below the current one; the last step's
// features (the whole picture seen) are pooled with the others.
[Network(28, 28)]
[Conv1D(64, 3, Padding = Padding.Causal, Activation = Activation.Relu)]
[Conv1D(64, 3, Padding = Padding.Causal, DilationRate = 2, Activation = Activation.Relu)]
[Conv1D(64, 3, Padding = Padding.Causal, DilationRate = 4, Activation = Activation.Relu)]
[GlobalMaxPooling1D]
[Dense(10, Activation = Activation.Softmax)]
public partial class CausalConv1D;
