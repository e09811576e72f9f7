using System.Collections.Immutable;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace NetGen.CodeFixes;

/// <summary>NG0106 (a Dense after an image, on its last axis only): inserts <c>[Flatten]</c> just before the Dense.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(InsertFlattenFix)), Shared]
public sealed class InsertFlattenFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create("NG0106");

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
            if (attribute?.Parent is not AttributeListSyntax) continue;
            context.RegisterCodeFix(
                CodeAction.Create("Insert [Flatten] before it", ct => Fix(context.Document, attribute, ct), nameof(InsertFlattenFix)),
                diagnostic);
        }
    }

    private static async Task<Document> Fix(Document document, AttributeSyntax attribute, CancellationToken ct)
    {
        var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
        if (root is null || attribute.Parent is not AttributeListSyntax list) return document;
        var flatten = SyntaxFactory.Attribute(SyntaxFactory.IdentifierName("Flatten"));
        SyntaxNode updated;
        if (list.Attributes.Count == 1)
        {
            // [Flatten] on a line of its own before [Dense(...)], indented alike.
            var own = SyntaxFactory.AttributeList(SyntaxFactory.SingletonSeparatedList(flatten))
                .WithLeadingTrivia(list.GetLeadingTrivia())
                .WithTrailingTrivia(list.GetTrailingTrivia()); // the line end the file uses
            updated = root.InsertNodesBefore(list, new[] { own });
        }
        else
            updated = root.ReplaceNode(list, list.WithAttributes(list.Attributes.Insert(list.Attributes.IndexOf(attribute), flatten)));
        return document.WithSyntaxRoot(updated);
    }
}
