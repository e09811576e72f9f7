using System;
using System.Composition;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace NetGen.CodeFixes;

/// <summary>
/// NG0104 (a window larger than its input): sets <c>Padding = Padding.Same</c> on the attribute, replacing a
/// <c>Padding = Padding.Valid</c> that is there. Offered where the layer has no same padding yet.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(PaddingSameFix)), Shared]
public sealed class PaddingSameFix() : NetGenCodeFix("NG0104")
{
    /// <inheritdoc/>
    protected override (string Title, Func<SyntaxNode, SyntaxNode> Apply)? Plan(SyntaxNode root, Diagnostic diagnostic)
    {
        var attribute = root.FindNode(diagnostic.Location.SourceSpan).FirstAncestorOrSelf<AttributeSyntax>();
        if (attribute is null) return null;
        var existing = attribute.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == "Padding");
        if (existing?.Expression.ToString().EndsWith("Same", StringComparison.Ordinal) == true) return null;
        var same = SyntaxFactory.AttributeArgument(
            SyntaxFactory.NameEquals(SyntaxFactory.IdentifierName("Padding")), null, SyntaxFactory.ParseExpression("Padding.Same"));
        var list = attribute.ArgumentList ?? SyntaxFactory.AttributeArgumentList();
        var arguments = existing is null ? list.Arguments.Add(same) : list.Arguments.Replace(existing, same.WithTriviaFrom(existing));
        return ("Use Padding = Padding.Same", r => r.ReplaceNode(attribute, attribute.WithArgumentList(list.WithArguments(arguments))));
    }
}
