using Xunit;

namespace NetGen.Tests;

/// <summary>ROC and precision-recall curves against scikit-learn's (Fixtures/curves.py made the numbers) and a brute-force AUC.</summary>
public sealed class CurvesTests
{
    private static readonly float[] Scores = [0.9f, 0.8f, 0.8f, 0.7f, 0.6f, 0.55f, 0.55f, 0.5f, 0.4f, 0.3f, 0.3f, 0.2f, 0.1f, 0.05f];
    private static readonly float[] Labels = [1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0];

    [Fact]
    public void RocCurveAndAucMatchScikitLearn()
    {
        var (fpr, tpr, _) = Curves.Roc(Scores, Labels);
        double[] wantFpr = [0.0, 0.0, 0.125, 0.125, 0.25, 0.375, 0.5, 0.5, 0.75, 0.75, 0.875, 1.0];
        double[] wantTpr = [0.0, 1 / 6.0, 2 / 6.0, 0.5, 0.5, 4 / 6.0, 4 / 6.0, 5 / 6.0, 5 / 6.0, 1.0, 1.0, 1.0];
        Assert.Equal(wantFpr, fpr);
        for (int i = 0; i < wantTpr.Length; i++) Assert.Equal(wantTpr[i], tpr[i], 12);
        Assert.Equal(0.7083333333333334, Curves.RocAuc(Scores, Labels), 12);
    }

    [Fact]
    public void RocAucIsTheChanceThatAPositiveOutscoresANegative()
    {
        var rng = new Random(3);
        var scores = Enumerable.Range(0, 300).Select(_ => (float)Math.Round(rng.NextDouble(), 2)).ToArray(); // with ties
        var labels = scores.Select(s => rng.NextDouble() < s ? 1f : 0f).ToArray();
        double wins = 0;
        long pairs = 0;
        for (int i = 0; i < scores.Length; i++)
            for (int j = 0; j < scores.Length; j++)
                if (labels[i] == 1 && labels[j] == 0)
                {
                    pairs++;
                    wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
                }
        Assert.Equal(wins / pairs, Curves.RocAuc(scores, labels), 10);
    }

    [Fact]
    public void PrecisionRecallCurveAndAucMatchScikitLearn()
    {
        var (precision, recall, thresholds) = Curves.PrecisionRecall(Scores, Labels);
        double[] wantPrecision = [3 / 7.0, 6 / 13.0, 0.5, 5 / 11.0, 5 / 9.0, 0.5, 4 / 7.0, 0.6, 0.75, 2 / 3.0, 1.0, 1.0];
        double[] wantRecall = [1.0, 1.0, 1.0, 5 / 6.0, 5 / 6.0, 4 / 6.0, 4 / 6.0, 0.5, 0.5, 2 / 6.0, 1 / 6.0, 0.0];
        for (int i = 0; i < wantPrecision.Length; i++)
        {
            Assert.Equal(wantPrecision[i], precision[i], 12);
            Assert.Equal(wantRecall[i], recall[i], 12);
        }
        Assert.Equal(new[] { 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9 }, thresholds.Select(t => Math.Round(t, 6)));
        Assert.Equal(0.6887385762385762, Curves.PrAuc(Scores, Labels), 12);
    }

    [Fact]
    public void ConfusionMatrixAtAThreshold()
    {
        var m = Curves.ConfusionMatrix(Scores, Labels, 0.5f);
        Assert.Equal(new[,] { { 4, 4 }, { 2, 4 } }, m);
        Assert.Throws<ArgumentException>(() => Curves.Roc(Scores, new float[Scores.Length])); // one class only
        Assert.Throws<ArgumentException>(() => Curves.Auc([0, 1, 0.5, 1], [0, 1, 1, 1]));  // not monotonic
        Assert.Throws<ArgumentException>(() => Curves.Auc([0, double.NaN, 1], [0, 1, 1]));
    }
}
