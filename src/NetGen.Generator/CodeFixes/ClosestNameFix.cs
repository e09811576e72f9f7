using System.Collections.Immutable;
using System.Composition;
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
/// NG0201 (an input name no layer has) when the message suggests the closest name ("reads 'x' ... did you mean 'y'?"):
/// replaces the string "x" in the attribute with "y".
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ClosestNameFix)), Shared]
public sealed class ClosestNameFix : CodeFixProvider
{
    private static readonly Regex Suggestion = new("reads '(?<from>[^']*)'.*did you mean '(?<to>[^']*)'\\?", RegexOptions.CultureInvariant);

    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create("NG0201");

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (var diagnostic in context.Diagnostics)
        {
            var match = Suggestion.Match(diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
            var attribute = root.FindNode(diagnostic.Location.SourceSpan).FirstAncestorOrSelf<AttributeSyntax>();
            if (!match.Success || attribute?.ArgumentList is null) continue;
            string from = match.Groups["from"].Value, to = match.Groups["to"].Value;
            var literal = attribute.ArgumentList.DescendantNodes().OfType<LiteralExpressionSyntax>()
                .FirstOrDefault(l => l.IsKind(SyntaxKind.StringLiteralExpression) && l.Token.ValueText == from);
            if (literal is null) continue;
            context.RegisterCodeFix(
                CodeAction.Create($"Use '{to}'", ct => Fix(context.Document, literal, to, ct), nameof(ClosestNameFix) + to),
                diagnostic);
        }
    }

    private static async Task<Document> Fix(Document document, LiteralExpressionSyntax literal, string name, CancellationToken ct)
    {
        var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
        if (root is null) return document;
        var replacement = SyntaxFactory.LiteralExpression(SyntaxKind.StringLiteralExpression, SyntaxFactory.Literal(name)).WithTriviaFrom(literal);
        return document.WithSyntaxRoot(root.ReplaceNode(literal, replacement));
    }
}
