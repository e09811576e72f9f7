using System;
using System.Collections.Immutable;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;

namespace NetGen.CodeFixes;

/// <summary>
/// What NetGen's code fixes share: one diagnostic id, the batch fix-all, and one code action per diagnostic that
/// <see cref="Plan"/> says how to fix (a title and the edit of the document's syntax root).
/// </summary>
public abstract class NetGenCodeFix : CodeFixProvider
{
    private readonly string _diagnosticId;

    /// <summary>A fix for <paramref name="diagnosticId"/>.</summary>
    protected NetGenCodeFix(string diagnosticId) => _diagnosticId = diagnosticId;

    /// <inheritdoc/>
    public sealed override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(_diagnosticId);

    /// <inheritdoc/>
    public sealed override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public sealed override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (var diagnostic in context.Diagnostics)
        {
            if (Plan(root, diagnostic) is not { } fix) continue;
            var document = context.Document;
            context.RegisterCodeFix(
                CodeAction.Create(fix.Title, _ => Task.FromResult(document.WithSyntaxRoot(fix.Apply(root))), GetType().Name + ":" + fix.Title),
                diagnostic);
        }
    }

    /// <summary>The action's title and the edit of <paramref name="root"/> that fixes <paramref name="diagnostic"/>, or null when nothing mechanical does.</summary>
    protected abstract (string Title, Func<SyntaxNode, SyntaxNode> Apply)? Plan(SyntaxNode root, Diagnostic diagnostic);
}
