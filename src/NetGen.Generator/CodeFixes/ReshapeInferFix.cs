using System.Collections.Immutable;
using System.Composition;
using System.Globalization;
using System.Linq;
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
/// NG0101 (a Reshape whose target does not hold the input's elements): puts -1 in the first dimension for which the
/// others divide the input's element count (read from the message), so Keras's inference makes the shape fit.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ReshapeInferFix)), Shared]
public sealed class ReshapeInferFix : CodeFixProvider
{
    private static readonly Regex Elements = new("cannot reshape .*? \\((?<n>[0-9]+) elements\\)", RegexOptions.CultureInvariant);

    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create("NG0101");

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (var diagnostic in context.Diagnostics)
        {
            var match = Elements.Match(diagnostic.GetMessage(CultureInfo.InvariantCulture));
            var attribute = root.FindNode(diagnostic.Location.SourceSpan).FirstAncestorOrSelf<AttributeSyntax>();
            if (!match.Success || !long.TryParse(match.Groups["n"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long total)) continue;
            var dims = attribute?.ArgumentList?.Arguments.Where(a => a.NameEquals is null && a.NameColon is null).ToList();
            if (dims is null || dims.Count == 0) continue;
            var values = dims.Select(a => a.Expression is LiteralExpressionSyntax l && l.Token.Value is int v ? (long?)v : null).ToList();
            if (values.Any(v => v is null or < 0)) continue; // only literal, fully known shapes
            for (int i = 0; i < dims.Count; i++)
            {
                long others = 1;
                for (int j = 0; j < dims.Count && others <= total; j++) if (j != i) others *= values[j]!.Value;
                if (others == 0 || others > total || total % others != 0) continue;
                var target = dims[i];
                context.RegisterCodeFix(
                    CodeAction.Create($"Infer dimension {i + 1} (-1)", ct => Fix(context.Document, target, ct), nameof(ReshapeInferFix)),
                    diagnostic);
                break;
            }
        }
    }

    private static async Task<Document> Fix(Document document, AttributeArgumentSyntax argument, CancellationToken ct)
    {
        var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
        if (root is null) return document;
        var minusOne = SyntaxFactory.PrefixUnaryExpression(SyntaxKind.UnaryMinusExpression,
            SyntaxFactory.LiteralExpression(SyntaxKind.NumericLiteralExpression, SyntaxFactory.Literal(1)));
        return document.WithSyntaxRoot(root.ReplaceNode(argument.Expression, minusOne.WithTriviaFrom(argument.Expression)));
    }
}
