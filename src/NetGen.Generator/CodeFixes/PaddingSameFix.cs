using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace NetGen.CodeFixes;

/// <summary>
/// NG0104 (a window larger than its input): sets <c>Padding = Padding.Same</c> on the attribute, replacing a
/// <c>Padding = Padding.Valid</c> that is there. Offered where the layer has no same padding yet.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(PaddingSameFix)), Shared]
public sealed class PaddingSameFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create("NG0104");

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (var diagnostic in context.Diagnostics)
        {
            var attribute = root.FindNode(diagnostic.Location.SourceSpan).FirstAncestorOrSelf<AttributeSyntax>();
            if (attribute is null || Padding(attribute)?.Expression.ToString().EndsWith("Same", System.StringComparison.Ordinal) == true) continue;
            context.RegisterCodeFix(
                CodeAction.Create("Use Padding = Padding.Same", ct => Fix(context.Document, attribute, ct), nameof(PaddingSameFix)),
                diagnostic);
        }
    }

    private static AttributeArgumentSyntax? Padding(AttributeSyntax attribute) =>
        attribute.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == "Padding");

    private static async Task<Document> Fix(Document document, AttributeSyntax attribute, CancellationToken ct)
    {
        var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
        if (root is null) return document;
        var same = SyntaxFactory.AttributeArgument(
            SyntaxFactory.NameEquals(SyntaxFactory.IdentifierName("Padding")),
            null,
            SyntaxFactory.ParseExpression("Padding.Same"));
        var list = attribute.ArgumentList ?? SyntaxFactory.AttributeArgumentList();
        var existing = Padding(attribute);
        var arguments = existing is null ? list.Arguments.Add(same) : list.Arguments.Replace(existing, same.WithTriviaFrom(existing));
        var fixedAttribute = attribute.WithArgumentList(list.WithArguments(arguments));
        return document.WithSyntaxRoot(root.ReplaceNode(attribute, fixedAttribute));
    }
}
