using NetGen.Generator.Emit;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;
using Xunit;
using static NetGen.Generator.Tests.Specs;

namespace NetGen.Generator.Tests;

/// <summary>
/// The Keras 2 classic <c>model.summary()</c> table (TF 2.0-2.6 <c>print_summary</c>, notes/keras2-semantics.md §12)
/// and the parameter counts it reports, checked against the Keras printouts of seed 004 and the FashionMlp sample.
/// </summary>
public class SummaryTests
{
    private const string Rule = "_________________________________________________________________";
    private const string DoubleRule = "=================================================================";

    private static string Summary(NetworkSpec spec)
    {
        var (network, errors) = ShapeInference.Run(spec);
        Assert.Empty(errors);
        return SummaryFormatter.Format(network!);
    }

    [Fact]
    public void Autoencoder_29_40_29_has_2389_parameters_in_the_exact_Keras2_layout()
    {
        string summary = Summary(Named("Autoencoder", [29], Dense(40, ActivationKind.Relu), Dense(29)));

        // Keras 2 prints an InputLayer row for functional models only; a Sequential-style model has none.
        Assert.Equal(
            """
            Model: "Autoencoder"
            _________________________________________________________________
            Layer (type)                 Output Shape              Param #   
            =================================================================
            dense (Dense)                (None, 40)                1200      
            _________________________________________________________________
            dense_1 (Dense)              (None, 29)                1189      
            =================================================================
            Total params: 2,389
            Trainable params: 2,389
            Non-trainable params: 0
            _________________________________________________________________
            """.ReplaceLineEndings("\n"), summary);
    }

    [Fact]
    public void A_named_layer_draws_no_default_name_as_in_Keras()
    {
        // Keras names a layer from its kind's counter only when no name is given: encoder, dense, dense_1.
        string summary = Summary(Named("Named", [29], Dense(40, name: "encoder"), Dense(20), Dense(29)));
        string[] names = summary.Split('\n').Where(l => l.Contains("(Dense)", StringComparison.Ordinal))
            .Select(l => l.Split(' ')[0]).ToArray();
        Assert.Equal(["encoder", "dense", "dense_1"], names);
    }

    [Fact]
    public void Every_row_and_rule_is_65_characters_with_columns_at_29_and_55()
    {
        string[] lines = Summary(Named("sequential", [28, 28, 1], Flatten(), Dense(128, ActivationKind.Relu), Dropout(0.5),
            Dense(10, ActivationKind.Softmax))).Split('\n');

        Assert.Equal("Layer (type)                 Output Shape              Param #   ", lines[2]);
        Assert.Equal(Rule, lines[1]);
        Assert.Equal(DoubleRule, lines[3]);
        Assert.Equal(DoubleRule, lines[^5]);
        Assert.Equal(Rule, lines[^1]);
        for (int i = 1; i < lines.Length - 4; i++)
            Assert.True(lines[i].Length == 65, $"line {i} has {lines[i].Length} characters: '{lines[i]}'");
        // Layer rows: name cell in [0, 28], shape cell from 29, count cell from 55.
        Assert.Equal("flatten (Flatten)            (None, 784)               0         ", lines[4]);
        Assert.Equal(Rule, lines[5]);
        Assert.Equal("dense (Dense)                (None, 128)               100480    ", lines[6]);
        Assert.Equal("dropout (Dropout)            (None, 128)               0         ", lines[8]);
        Assert.Equal("dense_1 (Dense)              (None, 10)                1290      ", lines[10]);
        Assert.Equal(["Total params: 101,770", "Trainable params: 101,770", "Non-trainable params: 0"], lines[^4..^1]);
    }

    [Fact]
    public void A_long_layer_name_is_cut_one_character_before_the_next_column_as_Keras2_does()
    {
        // Keras 2.0-2.6: line = line[:-1] + ' ' before each field, so a cell keeps at most 28 characters of 29
        // ("batch_normalization (BatchNo (None, 28, 28, 8)" in the Keras printout).
        string[] lines = Summary(Network([3], Dense(2, name: "batch_normalization_lookalike"))).Split('\n');

        Assert.Equal("batch_normalization_lookalik (None, 2)                 8         ", lines[4]);
    }

    [Fact]
    public void Deep_autoencoder_29_80_40_80_29_has_11269_parameters()
    {
        string summary = Summary(Named("DeepAutoencoder", [29],
            Dense(80, ActivationKind.Relu), Dense(40, ActivationKind.Relu), Dense(80, ActivationKind.Relu), Dense(29)));

        string[] rows = summary.Split('\n');
        Assert.Equal("dense (Dense)                (None, 80)                2400      ", rows[4]);
        Assert.Equal("dense_1 (Dense)              (None, 40)                3240      ", rows[6]);
        Assert.Equal("dense_2 (Dense)              (None, 80)                3280      ", rows[8]);
        Assert.Equal("dense_3 (Dense)              (None, 29)                2349      ", rows[10]);
        Assert.Contains("\nTotal params: 11,269\nTrainable params: 11,269\nNon-trainable params: 0\n", summary);
    }

    [Fact]
    public void FashionMlp_has_669706_parameters()
    {
        string summary = Summary(Named("FashionMlp", [784], Dense(512, ActivationKind.Relu), Dropout(0.2),
            Dense(512, ActivationKind.Relu), Dropout(0.2), Dense(10, ActivationKind.Softmax)));

        Assert.Contains("\ndense (Dense)                (None, 512)               401920    \n", summary);
        Assert.Contains("\ndropout_1 (Dropout)          (None, 512)               0         \n", summary);
        Assert.Contains("\ndense_2 (Dense)              (None, 10)                5130      \n", summary);
        Assert.Contains("\nTotal params: 669,706\n", summary);
    }

    /// <summary>The same numbers as they reach users: the generated <c>SummaryText</c> and <c>ParameterCount</c>.</summary>
    [Theory]
    [InlineData(nameof(Samples.FashionMlp), "669,706", 669706)]
    [InlineData(nameof(Samples.Autoencoder), "2,389", 2389)]
    [InlineData(nameof(Samples.DeepAutoencoder), "11,269", 11269)]
    [InlineData(nameof(Samples.EveryLayer), "934", 934)]
    [InlineData(nameof(Samples.ConvAutoencoder), "4,385", 4385)]
    public void Generated_code_reports_the_parameter_count(string sample, string total, int count)
    {
        var result = GeneratorTest.Run(Samples.Get(sample));

        string code = result.GeneratedTrees.Single().ToString();
        Assert.Contains($"\"Total params: {total}\\n\" +", code);
        Assert.Contains($"/// Total params: {total}\n", code);
        Assert.Contains($"public const int ParameterCount = {count};", code);
    }
}
