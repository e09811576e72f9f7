using System;
using System.Composition;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace NetGen.CodeFixes;

/// <summary>NG0106 (a Dense after an image, on its last axis only): inserts <c>[Flatten]</c> just before the Dense.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(InsertFlattenFix)), Shared]
public sealed class InsertFlattenFix() : NetGenCodeFix("NG0106")
{
    /// <inheritdoc/>
    protected override (string Title, Func<SyntaxNode, SyntaxNode> Apply)? Plan(SyntaxNode root, Diagnostic diagnostic)
    {
        var attribute = root.FindNode(diagnostic.Location.SourceSpan).FirstAncestorOrSelf<AttributeSyntax>();
        if (attribute?.Parent is not AttributeListSyntax list) return null;
        var flatten = SyntaxFactory.Attribute(SyntaxFactory.IdentifierName("Flatten"));
        if (list.Attributes.Count > 1)
            return ("Insert [Flatten] before it", r => r.ReplaceNode(list, list.WithAttributes(list.Attributes.Insert(list.Attributes.IndexOf(attribute), flatten))));
        // [Flatten] on a line of its own before [Dense(...)], indented alike, with the line end the file uses.
        var own = SyntaxFactory.AttributeList(SyntaxFactory.SingletonSeparatedList(flatten))
            .WithLeadingTrivia(list.GetLeadingTrivia())
            .WithTrailingTrivia(list.GetTrailingTrivia());
        return ("Insert [Flatten] before it", r => r.InsertNodesBefore(list, new[] { own }));
    }
}
