using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>
/// The generated code of the sample networks, compared with Baselines/{Test}/{Hint}.txt (rewrite them with
/// NETGEN_UPDATE_BASELINES=1 and review the diff). The testing library also compiles the output: no errors, no warnings.
/// </summary>
public class SnapshotTests
{
    [Fact]
    public Task FashionMlp() => GeneratorTest.VerifySnapshotAsync(Samples.FashionMlp);

    [Fact]
    public Task Autoencoder() => GeneratorTest.VerifySnapshotAsync(Samples.Autoencoder);

    [Fact]
    public Task DeepAutoencoder() => GeneratorTest.VerifySnapshotAsync(Samples.DeepAutoencoder);

    [Fact]
    public Task EveryLayer() => GeneratorTest.VerifySnapshotAsync(Samples.EveryLayer);

    [Fact]
    public Task FusedCnn() => GeneratorTest.VerifySnapshotAsync(Samples.FusedCnn);

    [Fact]
    public Task ConvAutoencoder() => GeneratorTest.VerifySnapshotAsync(Samples.ConvAutoencoder);

    [Fact]
    public Task InceptionResidual() => GeneratorTest.VerifySnapshotAsync(Samples.InceptionResidual);

    [Fact]
    public Task BlockResNet() => GeneratorTest.VerifySnapshotAsync(Samples.BlockResNet);

    [Fact]
    public Task MultiInputOutput() => GeneratorTest.VerifySnapshotAsync(Samples.MultiInputOutput);

    [Fact]
    public Task Conv1DClassifier() => GeneratorTest.VerifySnapshotAsync(Samples.Conv1DClassifier);

    [Fact]
    public Task StackedLstm() => GeneratorTest.VerifySnapshotAsync(Samples.StackedLstm);
}
