// Seed 004's autoencoders for anomaly detection, on real data: the Breast Cancer Wisconsin (Diagnostic) set shipped in
// data/breast-cancer (30 features of 569 cell samples). Each autoencoder learns to reconstruct benign samples only;
// a malignant sample, unlike anything it saw, is reconstructed worse, so the reconstruction error is an anomaly
// score. As the seed, each model is judged by the area under the ROC and precision-recall curves of that score on
// held-out benign samples and all malignant ones, and a confusion matrix at a threshold set on the training errors.
//   dotnet run -c Release --project samples/Autoencoders -- [epochs (200)]
using System.Globalization;
using NetGen;
using NetGen.Data;

int epochs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200;
var (x, y) = BreastCancer.Load();
int n = x.Count, features = x.SampleSize;

// Benign samples (label 1) split 70/30 with a fixed shuffle; the test set adds every malignant one (label 0).
var rng = new Random(7);
var benign = Enumerable.Range(0, n).Where(i => y.Data[i] == 1).OrderBy(_ => rng.Next()).ToArray();
var malignant = Enumerable.Range(0, n).Where(i => y.Data[i] == 0).ToArray();
int trainCount = benign.Length * 7 / 10;
var trainRows = benign[..trainCount];
var testRows = benign[trainCount..].Concat(malignant).ToArray();

// Standardise every feature with the training set's mean and standard deviation (sklearn's StandardScaler).
var mean = new double[features];
var std = new double[features];
foreach (int r in trainRows) for (int f = 0; f < features; f++) mean[f] += x.Data[r * features + f] / trainRows.Length;
foreach (int r in trainRows) for (int f = 0; f < features; f++) std[f] += Math.Pow(x.Data[r * features + f] - mean[f], 2) / trainRows.Length;
Tensor Rows(int[] rows)
{
    var data = new float[rows.Length * features];
    for (int i = 0; i < rows.Length; i++)
        for (int f = 0; f < features; f++)
            data[i * features + f] = (float)((x.Data[rows[i] * features + f] - mean[f]) / Math.Sqrt(std[f] + 1e-12));
    return new Tensor(data, rows.Length, features);
}
var xTrain = Rows(trainRows);
var xTest = Rows(testRows);
var isMalignant = testRows.Select(r => y.Data[r] == 0 ? 1f : 0f).ToArray();
Console.WriteLine($"Training on {trainRows.Length} benign samples; testing on {testRows.Length - malignant.Length} benign and {malignant.Length} malignant ones.");

Directory.CreateDirectory("plots"); // each model's diagram, as Keras's plot_model
Console.WriteLine($"{"model",-12} {"params",7} {"ROC AUC",8} {"PR AUC",8}   confusion at the 95th percentile of training errors");
foreach (Model model in new Model[] { new VanillaAE(), new DeepAE(), new SparseAE(), new DenoisingAE(), new ContractiveAE() })
{
    using var m = model;
    m.PlotModel(Path.Combine("plots", m.Name + ".svg")); // Keras's plot_model(model, show_shapes=True)
    m.Compile(new Adam(1e-3f), Loss.MeanSquaredError);
    m.Fit(xTrain, xTrain, epochs: epochs, batchSize: 32, verbose: 0);
    var scores = ReconstructionErrors(m, xTest);
    var trainErrors = ReconstructionErrors(m, xTrain);
    float threshold = trainErrors.Order().ElementAt((int)(0.95 * trainErrors.Length));
    var c = Curves.ConfusionMatrix(scores, isMalignant, threshold);
    Console.WriteLine($"{m.Name,-12} {m.CountParams(),7} {Curves.RocAuc(scores, isMalignant),8:F4} {Curves.PrAuc(scores, isMalignant),8:F4}   " +
        $"benign [{c[0, 0]} kept, {c[0, 1]} flagged], malignant [{c[1, 0]} missed, {c[1, 1]} flagged]");
}

// Each sample's mean squared reconstruction error: the anomaly score.
static float[] ReconstructionErrors(Model m, Tensor x)
{
    var reconstruction = m.Predict(x, batchSize: 256);
    int features = x.SampleSize;
    var errors = new float[x.Count];
    for (int s = 0; s < x.Count; s++)
    {
        double sum = 0;
        for (int f = 0; f < features; f++) sum += Math.Pow(reconstruction.Data[s * features + f] - x.Data[s * features + f], 2);
        errors[s] = (float)(sum / features);
    }
    return errors;
}

// Seed 004's vanilla autoencoder: one hidden layer of 40.
[Network(30, Name = "vanilla")]
[Dense(40, Activation = Activation.Relu)]
[Dense(30)]
public partial class VanillaAE;

// Seed 004's deep autoencoder: hidden layers of 80, 40 and 80.
[Network(30, Name = "deep")]
[Dense(80, Activation = Activation.Relu)]
[Dense(40, Activation = Activation.Relu)]
[Dense(80, Activation = Activation.Relu)]
[Dense(30)]
public partial class DeepAE;

// Seed 004's sparse autoencoder: the deep one with an L1 activity regularizer on the first layer (l1(3e-5) in the seed).
[Network(30, Name = "sparse")]
[Dense(80, Activation = Activation.Relu, ActivityRegularizerL1 = 3e-5)]
[Dense(40, Activation = Activation.Relu)]
[Dense(80, Activation = Activation.Relu)]
[Dense(30)]
public partial class SparseAE;

// Seed 004's contractive autoencoder: a sigmoid encoder whose Jacobian's squared norm, λ·‖∂h/∂x‖²_F, is added to the
// loss (the seed's contractive_loss, with factor 1e-4), so that small changes of the input change the code little.
[Network(30, Name = "contractive")]
[Dense(40, Activation = Activation.Sigmoid, ContractiveRegularizer = 1e-4)]
[Dense(30)]
public partial class ContractiveAE;

// Seed 004's denoising autoencoder: corrupted inputs (Gaussian noise of 0.5 standard deviations, in training only),
// clean targets.
[Network(30, Name = "denoising")]
[GaussianNoise(0.5)]
[Dense(80, Activation = Activation.Relu)]
[Dense(40, Activation = Activation.Relu)]
[Dense(80, Activation = Activation.Relu)]
[Dense(30)]
public partial class DenoisingAE;
