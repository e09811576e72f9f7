using System;
using System.Composition;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace NetGen.CodeFixes;

/// <summary>NG0001 (a [Network] class that is not partial): adds the <c>partial</c> modifier.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MakePartialFix)), Shared]
public sealed class MakePartialFix() : NetGenCodeFix("NG0001")
{
    /// <inheritdoc/>
    protected override (string Title, Func<SyntaxNode, SyntaxNode> Apply)? Plan(SyntaxNode root, Diagnostic diagnostic)
    {
        var type = root.FindToken(diagnostic.Location.SourceSpan.Start).Parent?.FirstAncestorOrSelf<TypeDeclarationSyntax>();
        if (type is null || type.Modifiers.Any(SyntaxKind.PartialKeyword)) return null;
        // partial goes last among the modifiers, before the keyword: "public sealed partial class".
        var partial = SyntaxFactory.Token(SyntaxKind.PartialKeyword).WithTrailingTrivia(SyntaxFactory.Space);
        TypeDeclarationSyntax updated = type.Modifiers.Count == 0
            ? type.WithKeyword(type.Keyword.WithLeadingTrivia()).WithModifiers(SyntaxFactory.TokenList(partial.WithLeadingTrivia(type.Keyword.LeadingTrivia)))
            : type.WithModifiers(type.Modifiers.Add(partial));
        return ("Make the class partial", r => r.ReplaceNode(type, updated));
    }
}
