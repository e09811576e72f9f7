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
/// NG0201 (an input name no layer has) when the message suggests the closest name ("reads 'x' ... did you mean 'y'?"):
/// replaces the string "x" in the attribute with "y".
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ClosestNameFix)), Shared]
public sealed class ClosestNameFix() : NetGenCodeFix("NG0201")
{
    private static readonly Regex Suggestion = new("reads '(?<from>[^']*)'.*did you mean '(?<to>[^']*)'\\?", RegexOptions.CultureInvariant);

    /// <inheritdoc/>
    protected override (string Title, Func<SyntaxNode, SyntaxNode> Apply)? Plan(SyntaxNode root, Diagnostic diagnostic)
    {
        var match = Suggestion.Match(diagnostic.GetMessage(CultureInfo.InvariantCulture));
        var attribute = root.FindNode(diagnostic.Location.SourceSpan).FirstAncestorOrSelf<AttributeSyntax>();
        if (!match.Success || attribute?.ArgumentList is null) return null;
        string from = match.Groups["from"].Value, to = match.Groups["to"].Value;
        var literal = attribute.ArgumentList.DescendantNodes().OfType<LiteralExpressionSyntax>()
            .FirstOrDefault(l => l.IsKind(SyntaxKind.StringLiteralExpression) && l.Token.ValueText == from);
        if (literal is null) return null;
        var replacement = SyntaxFactory.LiteralExpression(SyntaxKind.StringLiteralExpression, SyntaxFactory.Literal(to)).WithTriviaFrom(literal);
        return ($"Use '{to}'", r => r.ReplaceNode(literal, replacement));
    }
}
