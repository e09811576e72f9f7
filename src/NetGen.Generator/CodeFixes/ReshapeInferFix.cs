using System;
using System.Composition;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace NetGen.CodeFixes;

/// <summary>
/// NG0101 (a Reshape whose target does not hold the input's elements): puts -1 in the first dimension for which the
/// others divide the input's element count (read from the message), so Keras's inference makes the shape fit.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ReshapeInferFix)), Shared]
public sealed class ReshapeInferFix() : NetGenCodeFix("NG0101")
{
    private static readonly Regex Elements = new("cannot reshape .*? \\((?<n>[0-9]+) elements\\)", RegexOptions.CultureInvariant);

    /// <inheritdoc/>
    protected override (string Title, Func<SyntaxNode, SyntaxNode> Apply)? Plan(SyntaxNode root, Diagnostic diagnostic)
    {
        var match = Elements.Match(diagnostic.GetMessage(CultureInfo.InvariantCulture));
        var attribute = root.FindNode(diagnostic.Location.SourceSpan).FirstAncestorOrSelf<AttributeSyntax>();
        if (!match.Success || !long.TryParse(match.Groups["n"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long total)) return null;
        var dims = attribute?.ArgumentList?.Arguments.Where(a => a.NameEquals is null && a.NameColon is null).ToList();
        if (dims is null || dims.Count == 0) return null;
        var values = dims.Select(a => a.Expression is LiteralExpressionSyntax l && l.Token.Value is int v ? (long?)v : null).ToList();
        if (values.Any(v => v is null or < 0)) return null; // only literal, fully known shapes
        for (int i = 0; i < dims.Count; i++)
        {
            long others = 1;
            for (int j = 0; j < dims.Count && others <= total; j++) if (j != i) others *= values[j]!.Value;
            if (others == 0 || others > total || total % others != 0) continue;
            var target = dims[i].Expression;
            var minusOne = SyntaxFactory.PrefixUnaryExpression(SyntaxKind.UnaryMinusExpression,
                SyntaxFactory.LiteralExpression(SyntaxKind.NumericLiteralExpression, SyntaxFactory.Literal(1))).WithTriviaFrom(target);
            return ($"Infer dimension {i + 1} (-1)", r => r.ReplaceNode(target, minusOne));
        }
        return null;
    }
}
