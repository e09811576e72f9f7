using System.Collections.Immutable;
using System.Composition;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace NetGen.CodeFixes;

/// <summary>
/// NG0110 (a loss that cannot train the output layer), on the loss argument of Compile: replaces it with the loss the
/// output calls for, read from the message: a softmax over several units, categorical cross-entropy; sigmoid units
/// (one, or several independent labels), binary cross-entropy. No fix for other outputs (a linear unit, say).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MatchingLossFix)), Shared]
public sealed class MatchingLossFix : CodeFixProvider
{
    private static readonly Regex Ends = new("ends in a (?<units>single|[0-9]+-way) (?<activation>[a-z ]+) output", RegexOptions.CultureInvariant);

    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create("NG0110");

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (var diagnostic in context.Diagnostics)
        {
            var match = Ends.Match(diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
            if (!match.Success || root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true) is not ExpressionSyntax loss) continue;
            bool single = match.Groups["units"].Value == "single";
            string? fixedLoss = match.Groups["activation"].Value switch
            {
                "softmax" when !single => "CategoricalCrossEntropy", // a softmax over one unit fits no loss
                "sigmoid" or "hard sigmoid" => "BinaryCrossEntropy",
                _ => null,
            };
            if (fixedLoss is null) continue;
            context.RegisterCodeFix(
                CodeAction.Create($"Use Loss.{fixedLoss}", ct => Fix(context.Document, loss, fixedLoss, ct), nameof(MatchingLossFix) + fixedLoss),
                diagnostic);
        }
    }

    private static async Task<Document> Fix(Document document, ExpressionSyntax loss, string name, CancellationToken ct)
    {
        var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
        if (root is null) return document;
        var replacement = SyntaxFactory.ParseExpression("Loss." + name).WithTriviaFrom(loss);
        return document.WithSyntaxRoot(root.ReplaceNode(loss, replacement));
    }
}
