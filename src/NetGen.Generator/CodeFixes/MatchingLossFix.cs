using System;
using System.Composition;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
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
public sealed class MatchingLossFix() : NetGenCodeFix("NG0110")
{
    private static readonly Regex Ends = new("ends in a (?<units>single|[0-9]+-way) (?<activation>[a-z ]+) output", RegexOptions.CultureInvariant);

    /// <inheritdoc/>
    protected override (string Title, Func<SyntaxNode, SyntaxNode> Apply)? Plan(SyntaxNode root, Diagnostic diagnostic)
    {
        var match = Ends.Match(diagnostic.GetMessage(CultureInfo.InvariantCulture));
        if (!match.Success || root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true) is not ExpressionSyntax loss) return null;
        bool single = match.Groups["units"].Value == "single";
        string? name = match.Groups["activation"].Value switch
        {
            "softmax" when !single => "CategoricalCrossEntropy", // a softmax over one unit fits no loss
            "sigmoid" or "hard sigmoid" => "BinaryCrossEntropy",
            _ => null,
        };
        if (name is null) return null;
        var replacement = SyntaxFactory.ParseExpression("Loss." + name).WithTriviaFrom(loss);
        return ($"Use Loss.{name}", r => r.ReplaceNode(loss, replacement));
    }
}
